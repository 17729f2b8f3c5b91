"""Read replicas against a real streaming replica (.ci/replica.sh): reports and the audit
browser read on the replica (shown by pausing its replay: a write on the primary stays unseen
there), a replica lagging beyond the setting or down is skipped for the primary, and a member
who just redeemed reads their history from the primary for the read-your-writes window."""

from __future__ import annotations

import asyncio
import dataclasses
import fcntl
import os
import re
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.app import create_app
from cardsvc.kernel.db import make_engine, make_sessionmaker
from cardsvc.kernel.replicas import STATE_KEY, ReadRouter
from cardsvc.kernel.settings import Settings
from cardsvc.memberauth.senders import RecordingSender
from cardsvc.orgs.models import Org
from tests.conftest import REPLICA_URL, make_test_settings
from tests.support.contract import contract_client
from tests.support.staff import login

pytestmark = [pytest.mark.replica, pytest.mark.only_on("postgres")]

AUDIT = "/api/v1/audit"
HX = {"HX-Request": "true"}


def _plain(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def _server(url: str, server: str) -> str:
    """``url``'s database (and driver) on ``server``'s host and port."""
    scheme, _, rest = url.partition("://")
    netloc = server.partition("://")[2].partition("/")[0]
    return f"{scheme}://{netloc}/{rest.rpartition('/')[2]}"


async def _one(url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(_plain(url))
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def _caught_up(primary: str, replica: str) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    lsn = await _one(primary, "SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + 60
    while not await _one(replica, "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", lsn):
        assert time.monotonic() < deadline, "the replica did not catch up within a minute"
        await asyncio.sleep(0.05)


@pytest.fixture
async def replica(db_url: str, demo: dict[str, Any]) -> AsyncIterator[str]:
    """The session's database on the replica, caught up with the demo federation; its replay
    is resumed afterwards whatever the test did. Pausing replay pauses it for every database:
    one such test at a time across pytest-xdist's workers (a lock file)."""
    assert REPLICA_URL
    url = _server(db_url, REPLICA_URL)
    lock = os.open(
        Path(tempfile.gettempdir()) / "unioncard-replica-tests.lock", os.O_CREAT | os.O_RDWR
    )
    try:
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)  # released by the close
        await _caught_up(db_url, url)
        yield url
    finally:
        await _one(url, "SELECT pg_wal_replay_resume() WHERE pg_is_wal_replay_paused()")
        os.close(lock)


async def _pause(url: str) -> None:
    await _one(url, "SELECT pg_wal_replay_pause()")


async def _resume(url: str) -> None:
    await _one(url, "SELECT pg_wal_replay_resume()")


def _app(db_url: str, var_dir: Path, replicas: tuple[str, ...], **kw: Any) -> Litestar:
    settings: Settings = dataclasses.replace(
        make_test_settings(db_url, var_dir),
        database_replica_urls=replicas,
        replica_check_seconds=0,  # measured at every choice: the tests change it at will
        **kw,
    )
    return create_app(settings)


def _router(app: Litestar) -> ReadRouter:
    router: ReadRouter = app.state[STATE_KEY]
    return router


async def _port(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT inet_server_port()")))


async def _org_id(engine: AsyncEngine, code: str) -> str:
    async with make_sessionmaker(engine)() as s:
        return str(await s.scalar(select(Org.id).where(Org.code == code)))


async def _renames(client: Any) -> int:
    resp = await client.get(AUDIT, params={"action": "org.update", "limit": 1})
    assert resp.status_code == 200, resp.text
    return int(resp.json()["total"])


async def test_reads_run_on_the_replica_and_writes_on_the_primary(
    db_url: str, var_dir: Path, engine: AsyncEngine, replica: str
) -> None:
    # The choice itself, on a router of the test's own (the app's engines live in its loop).
    own = ReadRouter(engine, [make_engine(replica)], max_lag_seconds=3600, check_seconds=0)
    assert await _port(await own.engine_for()) == make_url(replica).port
    assert await _port(engine) == make_url(db_url).port
    await own.dispose()
    app = _app(db_url, var_dir, (replica,), replica_max_lag_seconds=3600)
    org = await _org_id(engine, "HB-YC")
    async with (
        contract_client(app) as c,
        contract_client(create_app(make_test_settings(db_url, var_dir))) as primary_only,
    ):
        await login(c, "admin")
        await login(primary_only, "admin")
        await _caught_up(db_url, replica)
        before = await _renames(c)
        await _pause(replica)
        renamed = await c.patch(f"/api/v1/orgs/{org}", json={"name": "宜昌市总工会（新）"})
        assert renamed.status_code == 200, renamed.text  # the write: on the primary
        # The audit browser reads the replica, whose replay is paused: the rename is not there
        # yet; the primary has it.
        assert await _renames(c) == before
        assert await _renames(primary_only) == before + 1
        assert (await c.get("/console/audit", params={"action": "org.update"})).status_code == 200
        # Reports, programme usage and the published keys answer from the replica too.
        report = await c.get("/api/v1/reports/members", params={"org_id": org})
        assert report.status_code == 200, report.text
        assert (await c.get("/.well-known/jwks.json")).status_code == 200
        # The members export reads the replica; its audit row goes to the primary.
        exported = await c.get("/api/v1/exports/members", params={"org_id": org})
        assert exported.status_code == 200, exported.text
        on_primary = await primary_only.get(AUDIT, params={"action": "member.export"})
        assert on_primary.json()["total"] == 1
        await _resume(replica)
        await _caught_up(db_url, replica)
        assert await _renames(c) == before + 1


async def test_a_lagging_replica_is_skipped_until_it_catches_up(
    db_url: str, var_dir: Path, engine: AsyncEngine, replica: str
) -> None:
    app = _app(db_url, var_dir, (replica,), replica_max_lag_seconds=1)
    router = _router(app)
    org = await _org_id(engine, "HB-YC")
    async with contract_client(app) as c:
        await login(c, "admin")
        await _caught_up(db_url, replica)
        before = await _renames(c)
        assert router.replicas[0].usable
        await _pause(replica)
        renamed = await c.patch(f"/api/v1/orgs/{org}", json={"name": "宜昌市总工会（新）"})
        assert renamed.status_code == 200, renamed.text
        probe = make_engine(replica)
        deadline = time.monotonic() + 10
        while (await ReadRouter.measure_lag(probe) or 0) <= 1:
            assert time.monotonic() < deadline, "the paused replica's lag did not grow"
            await asyncio.sleep(0.2)
        await probe.dispose()
        # Lagging more than a second: the primary answers, the rename is seen.
        assert await _renames(c) == before + 1
        assert not router.replicas[0].usable and (router.replicas[0].lag or 0) > 1
        await _resume(replica)
        await _caught_up(db_url, replica)
        assert await _renames(c) == before + 1
        # Other workers write meanwhile, so the replica is rarely exactly level (its lag then
        # is the age of its last replayed write): it is used again once within the setting.
        deadline = time.monotonic() + 10
        while not router.replicas[0].usable:
            assert time.monotonic() < deadline, f"still skipped, lag {router.replicas[0].lag}"
            await asyncio.sleep(0.2)
            assert await _renames(c) == before + 1
        assert (router.replicas[0].lag or 0) <= 1


async def test_a_replica_that_is_down_falls_back_to_the_primary(
    db_url: str, var_dir: Path, engine: AsyncEngine, replica: str
) -> None:
    down = _server(db_url, "postgresql://postgres@127.0.0.1:8169/x")  # nothing listens
    app = _app(db_url, var_dir, (down, replica), replica_max_lag_seconds=3600)
    router = _router(app)
    org = await _org_id(engine, "HB-YC")
    async with contract_client(app) as c:
        await login(c, "admin")
        await _caught_up(db_url, replica)
        before = await _renames(c)
        await _pause(replica)
        assert (await c.patch(f"/api/v1/orgs/{org}", json={"name": "新名"})).status_code == 200
        # Every read skips the dead one: the live replica (paused: the rename unseen) answers.
        for _ in range(4):
            assert await _renames(c) == before
        assert router.replicas[0].lag is None and not router.replicas[0].usable
    # With the live one gone too (its port closed to us: a wrong port), the primary answers.
    only_down = _app(db_url, var_dir, (down,))
    async with contract_client(only_down) as c:
        await login(c, "admin")
        assert await _renames(c) == before + 1
        report = await c.get("/api/v1/reports/members", params={"org_id": org})
        assert report.status_code == 200, report.text


def _last_code(c: Any) -> str:
    found = re.search(r"验证码 (\d{6})", c.sender.sent[-1][1])
    assert found, c.sender.sent[-1][1]
    return found.group(1)


async def test_a_member_reads_their_own_redemption_right_after_it(
    db_url: str, var_dir: Path, demo: dict[str, Any], replica: str
) -> None:
    app = _app(
        db_url, var_dir, (replica,), replica_max_lag_seconds=3600, read_your_writes_seconds=2
    )
    app.state.sender = RecordingSender()
    member = demo["members"][1]
    t = next(t for t in demo["terminals"] if t["category"] == "cinema")
    program = next(p["id"] for p in demo["programs"] if p["code"] == "YC-CINEMA")
    async with contract_client(app) as c:
        c.sender = app.state.sender  # type: ignore[attr-defined]
        sent = await c.post("/m/login/code", data={"phone": member["phone"]}, headers=HX)
        assert sent.status_code == 200, sent.text
        signed = await c.post(
            "/m/login",
            data={"phone": member["phone"], "code": _last_code(c), "next": "/m/", "accept": "yes"},
            headers=HX,
        )
        assert signed.status_code == 200, signed.text
        assert t["merchant"] not in (await c.get("/m/history")).text
        await _caught_up(db_url, replica)
        await _pause(replica)
        code = (await c.get("/api/v1/me/card/token")).json()["text"]
        r = await c.post(
            "/api/v1/redemptions",
            json={"code": code, "program_id": program, "amount_fen": 4500, "units": 1},
            headers={"Authorization": f"Bearer {t['key']}", "Idempotency-Key": str(uuid.uuid4())},
        )
        assert r.status_code == 201, r.text
        # Within the window: the member's pages read the primary and show the redemption
        # the paused replica has not replayed.
        history = await c.get("/m/history")
        assert t["merchant"] in history.text and "¥45.00" in history.text
        notice = await c.get("/m/card/redeemed", params={"since": "2000-01-01T00:00:00+00:00"})
        assert notice.status_code == 200, notice.text
        await asyncio.sleep(2.2)
        # After it: the replica again, still paused.
        assert t["merchant"] not in (await c.get("/m/history")).text
        await _resume(replica)
        await _caught_up(db_url, replica)
        assert t["merchant"] in (await c.get("/m/history")).text
