"""A voucher campaign's opening storm while Redis restarts empty, or while PostgreSQL backends
are killed: never a voucher beyond the stock or a member's limit, never a granted claim without
its row, and the campaign reconciled afterwards (the admission state rebuilt from the database)
sells exactly what is left.

The fault strikes once a quarter of the stock is sold (not after a fixed delay, which a fast
machine's storm may outrun), and the test checks the storm was still selling then.

The claims run through the claim path (``benefits.vouchers.claims.claim``) with the admission in
a redis-server of the test's own, each on its own database session, as the app's workers run
them; a refused "busy" or a database error is retried with the same request id, as a client
does after a 503.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.errors import BenefitsError
from benefits.vouchers.admission import RedisAdmission
from benefits.vouchers.campaigns import create_campaign, move_campaign
from benefits.vouchers.claims import DRIVER_ERRORS, claim
from benefits.vouchers.models import CampaignMode, Voucher
from benefits.vouchers.rebuild import rebuild
from cardsvc.kernel.db import make_engine, make_sessionmaker
from tests.benefits.conftest import CITY, CITY_PATH, member
from tests.support.faults import RedisServer, pg_demo_db_url, plain_pg_url  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
STOCK = 40
# A fixed port for the throw-away redis-server if set (a shared machine's port plan), else free.
REDIS_PORT = int(os.environ.get("UNIONCARD_TEST_FAULT_REDIS_PORT", "0"))
KILL = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND backend_type = 'client backend'"
)


@pytest.fixture
def redis(tmp_path: Path) -> Any:
    server = RedisServer(tmp_path)
    server.port = REDIS_PORT or server.port
    server.start()
    yield server
    server.kill()


@pytest.fixture
async def pg(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(db_url, pool_size=16)
    yield engine
    await engine.dispose()


async def _campaign(engine: AsyncEngine) -> uuid.UUID:
    now = datetime.now(UTC)
    async with engine.connect() as conn:
        c = await create_campaign(
            conn,
            code=f"F{uuid.uuid4().hex[:8]}",
            name="故障测试券",
            owner_org_id=CITY,
            owner_org_path=CITY_PATH,
            mode=CampaignMode.first_come,
            terms={"value": {"kind": "amount_off", "off_fen": 500}, "valid_days": 3},
            stock=STOCK,
            per_member=1,
            opens_at=now - timedelta(minutes=1),
            closes_at=now + timedelta(hours=1),
        )
        await move_campaign(conn, c.id, "publish", now)
    return c.id


class Progress:
    """Vouchers granted so far; ``quarter`` is set once a quarter of the stock is."""

    def __init__(self) -> None:
        self.granted = 0
        self.quarter = asyncio.Event()

    def grant(self) -> None:
        self.granted += 1
        if self.granted >= STOCK // 4:
            self.quarter.set()


async def _storm(
    engine: AsyncEngine,
    admission: RedisAdmission,
    cid: uuid.UUID,
    people: list[Any],
    progress: Progress | None = None,
) -> list[tuple[Any, str]]:
    """Two claims per member (distinct request ids), 16 at a time; a busy answer or a database
    error retried with the same request id (up to 40 times). (voucher or None, outcome)."""
    sessions = make_sessionmaker(engine)
    gate = asyncio.Semaphore(16)
    progress = progress or Progress()

    async def one(facts: Any) -> tuple[Any, str]:
        key = uuid.uuid4().hex

        async def load() -> Any:
            return facts

        outcome = "gave_up"
        for _ in range(40):
            async with gate, sessions() as s:
                try:
                    v, _ = await claim(
                        s,
                        admission,
                        campaign_id=cid,
                        request=key,
                        member=load,
                        at=datetime.now(UTC),
                    )
                    progress.grant()
                    return v, "ok"
                except BenefitsError as exc:
                    outcome = exc.code
                except (DBAPIError, OSError, *DRIVER_ERRORS):
                    # What the app answers with a 503 (the claim's rows go in on the driver).
                    outcome = "db_error"
            if outcome not in ("voucher_busy", "db_error"):
                return None, outcome
            await asyncio.sleep(0.05)
        return None, outcome

    return list(await asyncio.gather(*(one(p) for p in people for _ in range(2))))


async def _check(engine: AsyncEngine, cid: uuid.UUID, got: list[tuple[Any, str]]) -> list[Any]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(Voucher.__table__).where(Voucher.campaign_id == cid))
        ).all()
    assert len(rows) <= STOCK, "oversold"
    assert max(Counter(r.member_id for r in rows).values()) == 1, "member limit exceeded"
    ids = {r.id for r in rows}
    assert all(v.id in ids for v, o in got if o == "ok"), "a granted claim without its row"
    return list(rows)


async def _reconciled_sells_the_rest(
    engine: AsyncEngine, admission: RedisAdmission, cid: uuid.UUID
) -> None:
    async with make_sessionmaker(engine)() as s:
        assert await rebuild(s, admission, cid)
    left = STOCK - len(await _check(engine, cid, []))
    fresh = [member() for _ in range(left + 5)]
    got = await _storm(engine, admission, cid, fresh)
    assert Counter(o for _, o in got)["ok"] == left
    assert len(await _check(engine, cid, got)) == STOCK


async def _with_fault(
    fault: Callable[[], Awaitable[None]], storm: Awaitable[Any], progress: Progress
) -> Any:
    """Run ``fault`` once a quarter of the stock is sold; the storm must still be selling."""
    task = asyncio.ensure_future(storm)
    await asyncio.wait_for(progress.quarter.wait(), 60)
    at_fault = progress.granted
    assert at_fault < STOCK and not task.done(), "the storm was over before the fault"
    await fault()
    got = await task
    assert progress.granted > at_fault, "nothing sold after the fault"
    return got


async def test_redis_restarted_mid_storm(pg: AsyncEngine, redis: RedisServer) -> None:
    client = Redis.from_url(redis.url, socket_timeout=1, socket_connect_timeout=1)
    admission = RedisAdmission(client)
    cid = await _campaign(pg)
    people = [member() for _ in range(60)]

    async def restart() -> None:
        await asyncio.to_thread(redis.kill)
        await asyncio.sleep(0.5)
        await asyncio.to_thread(redis.start)  # empty: no persistence

    progress = Progress()
    got = await _with_fault(restart, _storm(pg, admission, cid, people, progress), progress)
    outcomes = Counter(o for _, o in got)
    assert outcomes["ok"] > 0 and set(outcomes) <= {
        "ok",
        "voucher_sold_out",
        "voucher_limit",
        "voucher_busy",
        "gave_up",
    }, outcomes
    await _check(pg, cid, got)
    await _reconciled_sells_the_rest(pg, admission, cid)
    await client.aclose()


async def _kill_backends(db_url: str, times: int = 5) -> int:
    admin = await asyncpg.connect(plain_pg_url(db_url))
    killed = 0
    try:
        for _ in range(times):
            killed += int(await admin.fetchval(KILL))
            await asyncio.sleep(0.05)
    finally:
        await admin.close()
    return killed


async def test_postgres_backends_killed_mid_storm(
    pg: AsyncEngine, redis: RedisServer, db_url: str
) -> None:
    client = Redis.from_url(redis.url, socket_timeout=1, socket_connect_timeout=1)
    admission = RedisAdmission(client)
    cid = await _campaign(pg)
    people = [member() for _ in range(60)]
    killed = 0

    async def kill_backends() -> None:
        nonlocal killed
        killed = await _kill_backends(db_url)

    progress = Progress()
    got = await _with_fault(kill_backends, _storm(pg, admission, cid, people, progress), progress)
    assert killed > 0
    await _check(pg, cid, got)
    await _reconciled_sells_the_rest(pg, admission, cid)
    await client.aclose()


async def test_redis_restarted_and_backends_killed_together(
    pg: AsyncEngine, redis: RedisServer, db_url: str
) -> None:
    """Both at once: the admission store comes back empty while the database connections
    that would rebuild it are being cut."""
    client = Redis.from_url(redis.url, socket_timeout=1, socket_connect_timeout=1)
    admission = RedisAdmission(client)
    cid = await _campaign(pg)
    people = [member() for _ in range(60)]
    killed = 0

    async def both() -> None:
        nonlocal killed
        await asyncio.to_thread(redis.kill)
        killed = await _kill_backends(db_url)
        await asyncio.to_thread(redis.start)
        killed += await _kill_backends(db_url, times=3)

    progress = Progress()
    got = await _with_fault(both, _storm(pg, admission, cid, people, progress), progress)
    assert killed > 0
    await _check(pg, cid, got)
    await _reconciled_sells_the_rest(pg, admission, cid)
    await client.aclose()
