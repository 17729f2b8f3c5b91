"""The app through PgBouncer in transaction mode (.ci/replica.sh, .ci/pgbouncer.ini): a till's
scan, redemption and reversal (asyncpg directly), the member's pages, staff reports and a write
under concurrency, all on pooled server connections that change between transactions. Both ways
of connecting: as to PostgreSQL (statement caches on; PgBouncer >= 1.21 keeps the prepared
statements, ``max_prepared_statements``) and with ``UNIONCARD_DB_PGBOUNCER`` (no caches, for an
older PgBouncer)."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from cardsvc.app import create_app
from cardsvc.kernel.db import make_engine
from cardsvc.memberauth.senders import RecordingSender
from tests.conftest import PGBOUNCER_URL, make_test_settings
from tests.support.contract import contract_client
from tests.support.staff import login

pytestmark = [pytest.mark.pgbouncer, pytest.mark.only_on("postgres")]

# Statement caches on (PgBouncer keeps them), or off (UNIONCARD_DB_PGBOUNCER).
MODES = pytest.mark.parametrize("caches_off", [False, True], ids=["prepared", "uncached"])

HX = {"HX-Request": "true"}


def _bounced(db_url: str) -> str:
    """``db_url``'s database through PgBouncer."""
    assert PGBOUNCER_URL
    scheme, _, rest = db_url.partition("://")
    netloc = PGBOUNCER_URL.partition("://")[2].partition("/")[0]
    return f"{scheme}://{netloc}/{rest.rpartition('/')[2]}"


def test_pgbouncer_keeps_prepared_statements(db_url: str) -> None:
    """The PgBouncer the tests use is one that keeps prepared statements (>= 1.21)."""
    admin = make_url(_bounced(db_url)).set(drivername="postgresql", database="pgbouncer")
    dsn = admin.render_as_string(hide_password=False)

    def console(command: str) -> list[list[str]]:
        # The admin console speaks only the simple query protocol, which psql uses.
        out = subprocess.run(
            ["psql", dsn, "-XAtF", "\t", "-c", command], capture_output=True, text=True, check=True
        ).stdout
        return [line.split("\t") for line in out.splitlines()]

    version = console("SHOW VERSION")[0][0]
    config = {row[0]: row[1] for row in console("SHOW CONFIG")}
    major, minor = (int(x) for x in version.split()[1].split(".")[:2])
    assert (major, minor) >= (1, 21), version
    assert int(config["max_prepared_statements"]) > 0


@MODES
async def test_statements_share_pooled_server_connections(db_url: str, caches_off: bool) -> None:
    """Many clients' transactions over few server connections: no prepared statement of one
    is missing or doubled on another (the errors asyncpg's caches meet behind a PgBouncer that
    does not keep them)."""
    engine = make_engine(_bounced(db_url), pool_size=20, pgbouncer=caches_off)
    try:

        async def one(i: int) -> int:
            async with engine.connect() as conn:
                for _ in range(5):
                    assert await conn.scalar(text("SELECT :i + 1"), {"i": i}) == i + 1
                    await conn.commit()
                return int(await conn.scalar(text("SELECT inet_server_port()")))

        ports = await asyncio.gather(*(one(i) for i in range(40)))
        assert set(ports) == {make_url(db_url).port}  # the primary, behind the pooler
    finally:
        await engine.dispose()


@MODES
async def test_the_till_the_member_and_reports_through_pgbouncer(
    db_url: str, var_dir: Path, demo: dict[str, Any], caches_off: bool
) -> None:
    settings = dataclasses.replace(
        make_test_settings(_bounced(db_url), var_dir), db_pgbouncer=caches_off
    )
    app = create_app(settings)
    app.state.sender = RecordingSender()
    member = demo["members"][1]
    t = next(t for t in demo["terminals"] if t["category"] == "cinema")
    program = next(p["id"] for p in demo["programs"] if p["code"] == "YC-CINEMA")
    till = {"Authorization": f"Bearer {t['key']}"}
    async with contract_client(app) as c:
        await c.post("/m/login/code", data={"phone": member["phone"]}, headers=HX)
        code = re.search(r"验证码 (\d{6})", app.state.sender.sent[-1][1])
        assert code is not None
        signed = await c.post(
            "/m/login",
            data={"phone": member["phone"], "code": code.group(1), "next": "/m/", "accept": "yes"},
            headers=HX,
        )
        assert signed.status_code == 200, signed.text
        token = (await c.get("/api/v1/me/card/token")).json()["text"]
        for _ in range(3):  # the same statements again, on whichever server connection
            scan = await c.post(
                "/api/v1/scans", json={"code": token, "amount_fen": 4500}, headers=till
            )
            assert scan.status_code == 200, scan.text
        r = await c.post(
            "/api/v1/redemptions",
            json={"code": token, "program_id": program, "amount_fen": 4500, "units": 1},
            headers=till | {"Idempotency-Key": str(uuid.uuid4())},
        )
        assert r.status_code == 201, r.text
        voided = await c.post(
            f"/api/v1/redemptions/{r.json()['id']}/reversal",
            json={"reason": "顾客退单"},
            headers=till | {"Idempotency-Key": str(uuid.uuid4())},
        )
        assert voided.status_code == 201, voided.text
        history = await c.get("/m/history")
        assert history.status_code == 200 and t["merchant"] in history.text
        await login(c, "admin")
        orgs = (await c.get("/api/v1/orgs", params={"limit": 1})).json()["items"]
        report = await c.get("/api/v1/reports/members", params={"org_id": orgs[0]["id"]})
        assert report.status_code == 200, report.text
        audit = await c.get("/api/v1/audit", params={"action": "staff.login"})
        assert audit.status_code == 200 and audit.json()["total"] >= 1
