"""PostgreSQL backends terminated again and again while terminals scan and redeem.

A second, admin connection runs ``pg_terminate_backend`` for every other backend of the test
database, between and during the terminal's requests. Each request answers normally or
``503 database_unavailable`` (never 500), a killed connection is never handed out again (the
next request succeeds), and the ledger stays exact: a redemption answered 503 and retried with
its Idempotency-Key is stored once.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
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
from tests.support.faults import pg_demo_db_url, plain_pg_url  # noqa: F401 (fixture)
from tests.support.pos import make_pos

pytestmark = pytest.mark.postgres
KILL = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND backend_type = 'client backend'"
)


class Terminator(threading.Thread):
    """Terminates every other backend of the database every few milliseconds until stopped
    (a thread with its own loop: the test client blocks the test's loop during a request)."""

    def __init__(self, url: str, every: float) -> None:
        super().__init__(daemon=True)
        self.url, self.every = url, every
        self.done = threading.Event()
        self.killed = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self.error = exc

    async def _main(self) -> None:
        admin = await asyncpg.connect(self.url)
        try:
            while not self.done.is_set():
                self.killed += int(await admin.fetchval(KILL) or 0)
                await asyncio.sleep(self.every)
        finally:
            await admin.close()


def _ok_or_unavailable(r: Any, ok: tuple[int, ...]) -> None:
    assert r.status_code in (*ok, 503), r.text
    if r.status_code == 503:
        assert r.json()["code"] == "database_unavailable", r.text
        assert r.headers.get("retry-after")


async def test_terminals_under_repeated_backend_termination(
    engine: AsyncEngine, demo: dict[str, Any], db_url: str, tmp_path: Path
) -> None:
    app: Litestar = create_app(make_test_settings(db_url, tmp_path / "var"))
    async with asyncio.timeout(240), AsyncTestClient(app=app) as client:
        pos = await make_pos(engine, app, demo, n=8)
        prog = await pos.program("FAULT-TERM")
        t = pos.terminal()
        seen: Counter[int] = Counter()
        keys: dict[str, dict[str, Any]] = {}
        for round_ in range(3):
            # The test's own database work is done before the terminations start.
            codes = [await pos.code(pos.member_cycle()) for _ in range(60)]
            killer = Terminator(plain_pg_url(db_url), every=(0.002, 0.01, 0.03)[round_])
            killer.start()
            try:
                for i, code in enumerate(codes):
                    r = await client.post(
                        "/api/v1/scans", json={"code": code}, headers=pos.headers(t)
                    )
                    _ok_or_unavailable(r, (200,))
                    seen[r.status_code] += 1
                    key = f"r{round_}-{i}"
                    body = {"code": code, "program_id": str(prog.id), "amount_fen": 100}
                    r = await client.post(
                        "/api/v1/redemptions", json=body, headers=pos.headers(t, key)
                    )
                    _ok_or_unavailable(r, (201, 200))
                    seen[r.status_code] += 1
                    keys[key] = body
            finally:
                killer.done.set()
                killer.join(30)
            assert killer.error is None, killer.error
            assert killer.killed > 0
            # Killed connections are not handed out again: the next requests all succeed,
            # and each redemption retried with its key (its code still valid) is stored once.
            await asyncio.sleep(0.2)
            for key, body in keys.items():
                if key.startswith(f"r{round_}-"):
                    r = await client.post(
                        "/api/v1/redemptions", json=body, headers=pos.headers(t, key)
                    )
                    assert r.status_code in (200, 201), r.text
        assert seen[500] == 0
        async with make_sessionmaker(engine)() as s:
            rows = await s.scalar(
                select(func.count(func.distinct(Redemption.idempotency_key))).where(
                    Redemption.program_id == prog.id
                )
            )
            total = await s.scalar(
                select(func.count()).select_from(Redemption).where(Redemption.program_id == prog.id)
            )
        assert rows == total == len(keys)
        async with engine.connect() as conn:
            report = await reconcile(conn, fix=False)
        assert report.ok, report.drifts
