"""PostgreSQL connection killed mid-redemption (``pg_terminate_backend``).

The redemption is held inside its transaction (ledger row inserted, counter upsert waiting on
a table lock another connection holds), its backend is terminated, then the lock released.
The till gets ``503 database_unavailable`` (problem details, zh + en, ``Retry-After``);
nothing of the redemption is stored; the till's retry with the same Idempotency-Key succeeds
exactly once, and the next requests work. Run with and without ``pool_pre_ping``: both must
behave the same (a connection the server closed is dropped at checkout either way).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.models import Redemption
from benefits.public import reconcile
from cardsvc.app import create_app
from cardsvc.kernel.db import make_sessionmaker
from tests.conftest import make_test_settings
from tests.support.counters import all_counters
from tests.support.faults import pg_demo_db_url, plain_pg_url  # noqa: F401 (fixture)
from tests.support.pos import make_pos

pytestmark = pytest.mark.postgres
LIMITS = [{"metric": "count", "scope": "member", "period": "month", "limit": 5}]


class Killer(threading.Thread):
    """Holds a lock on the counter table, waits for a redemption to queue on it, terminates
    that backend and lets go. A thread with its own event loop: the test client blocks the
    test's loop while a request is in flight."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.locked = threading.Event()
        self.killed: int | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self.error = exc
            self.locked.set()

    async def _main(self) -> None:
        async with asyncio.timeout(30):
            admin = await asyncpg.connect(self.url)
            blocker = await asyncpg.connect(self.url)
            try:
                tx = blocker.transaction()
                await tx.start()
                await blocker.execute(
                    "LOCK TABLE benefit_counter, benefit_member_counter IN SHARE ROW EXCLUSIVE MODE"
                )
                self.locked.set()
                while self.killed is None:
                    # The redemption: its ledger row inserted, its counter upsert waiting.
                    pid = await admin.fetchval(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND query ~* 'benefit_(member_)?counter' "
                        "AND pid <> $1 LIMIT 1",
                        blocker.get_server_pid(),
                    )
                    if pid is None:
                        await asyncio.sleep(0.05)
                        continue
                    assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
                    self.killed = int(pid)
                await tx.rollback()
            finally:
                await blocker.close()
                await admin.close()


async def _ledger(engine: AsyncEngine, key: str | None = None) -> tuple[int, int]:
    """(ledger rows [under this key], sum of counters used)."""
    async with make_sessionmaker(engine)() as s:
        q = select(func.count()).select_from(Redemption)
        if key is not None:
            q = q.where(Redemption.idempotency_key == key)
        rows = await s.scalar(q)
        c = all_counters()
        used = await s.scalar(select(func.coalesce(func.sum(c.c.used), 0)))
        return int(rows or 0), int(used or 0)


def _assert_unavailable(r: Any) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers.get("retry-after")
    body = r.json()
    assert body["code"] == "database_unavailable"
    assert body["message_zh"] and body["message_en"] and body["request_id"]


@pytest.mark.parametrize("pre_ping", [True, False], ids=["pre_ping", "no_pre_ping"])
async def test_connection_killed_mid_redemption(
    engine: AsyncEngine,
    demo: dict[str, Any],
    db_url: str,
    tmp_path: Path,
    pre_ping: bool,
) -> None:
    settings = replace(make_test_settings(db_url, tmp_path / "var"), db_pre_ping=pre_ping)
    app: Litestar = create_app(settings)
    async with asyncio.timeout(90), AsyncTestClient(app=app) as client:
        pos = await make_pos(engine, app, demo, n=3)
        prog = await pos.program("FAULT-PG", limits=LIMITS)
        t = pos.terminal()
        member = pos.member()
        body = {"code": await pos.code(member), "program_id": str(prog.id), "amount_fen": 5000}
        # Warm the pool: the killed connection is then an ordinary pooled one.
        r = await client.post("/api/v1/scans", json={"code": body["code"]}, headers=pos.headers(t))
        assert r.status_code == 200, r.text

        killer = Killer(plain_pg_url(db_url))
        killer.start()
        assert killer.locked.wait(30) and killer.error is None, killer.error
        r = await client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, "till-1"))
        killer.join(30)
        assert killer.error is None and killer.killed is not None, killer.error
        _assert_unavailable(r)

        # Nothing half-written: no ledger row, no counter charged.
        assert await _ledger(engine) == (0, 0)

        # The till retries with the same key: redeemed once; a further retry replays it.
        r = await client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, "till-1"))
        assert r.status_code == 201, r.text
        r2 = await client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, "till-1"))
        assert r2.status_code == 200 and r2.headers["Idempotent-Replayed"] == "true", r2.text
        assert r2.json()["id"] == r.json()["id"]
        assert await _ledger(engine, "till-1") == (1, 1)

        # The next requests, on whatever connections the pool hands out, work.
        for i in range(4):
            other = {**body, "code": await pos.code(pos.member_cycle())}
            r = await client.post(
                "/api/v1/redemptions", json=other, headers=pos.headers(t, f"next-{i}")
            )
            assert r.status_code == 201, r.text
        async with engine.connect() as conn:
            report = await reconcile(conn, fix=False)
        assert report.ok, report.drifts


@pytest.mark.parametrize("pre_ping", [True, False], ids=["pre_ping", "no_pre_ping"])
async def test_idle_pool_connections_killed(
    engine: AsyncEngine,
    demo: dict[str, Any],
    db_url: str,
    tmp_path: Path,
    pre_ping: bool,
) -> None:
    """Every pooled connection ended while idle (a PostgreSQL restart or failover): the next
    requests get fresh connections and succeed; none answers 503 or 500."""
    settings = replace(make_test_settings(db_url, tmp_path / "var"), db_pre_ping=pre_ping)
    app: Litestar = create_app(settings)
    async with asyncio.timeout(90), AsyncTestClient(app=app) as client:
        pos = await make_pos(engine, app, demo, n=8)
        prog = await pos.program("FAULT-IDLE", limits=LIMITS)
        t = pos.terminal()

        async def redeem(key: str) -> Any:
            body = {
                "code": await pos.code(pos.member_cycle()),
                "program_id": str(prog.id),
                "amount_fen": 5000,
            }
            return await client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, key))

        # Several connections in the pool: concurrent requests.
        got = await asyncio.gather(*(redeem(f"warm-{i}") for i in range(4)))
        assert [r.status_code for r in got] == [201] * 4
        admin = await asyncpg.connect(plain_pg_url(db_url))
        try:
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            )
        finally:
            await admin.close()
        assert killed >= 1
        await asyncio.sleep(0.2)  # the pool's sockets see the server's close
        for i in range(6):
            r = await redeem(f"after-{i}")
            assert r.status_code == 201, r.text
