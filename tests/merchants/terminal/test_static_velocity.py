"""A printed card's hourly limit is counted from the ledger: a Redis restart (FLUSHDB) or an
outage (each worker then counting alone) never grants more uses than the limit."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.settings import Settings
from tests.merchants.terminal.test_flow_redis import app_with_redis
from tests.support.pos import Pos, later, make_pos

pytestmark = pytest.mark.redis
LIMIT = 3


async def _redeem(client: AsyncTestClient[Litestar], pos: Pos, code: str, prog: Any) -> Any:
    body = {"code": code, "program_id": str(prog.id), "amount_fen": 100}
    return await client.post(
        "/api/v1/redemptions", json=body, headers=pos.headers(pos.terminal(), uuid.uuid4().hex)
    )


def _refused(r: Any) -> None:
    assert r.status_code == 429, r.text
    body = r.json()
    assert body["code"] == "rate_limited" and body["limit_scope"] == "card", body
    assert 0 < int(r.headers["Retry-After"]) <= 3600


async def test_limit_holds_after_a_redis_restart(
    engine: AsyncEngine, demo: dict[str, Any], settings: Settings, redis_url: str
) -> None:
    app = app_with_redis(settings, redis_url)
    async with AsyncTestClient(app=app) as client:
        pos = await make_pos(engine, app, demo, n=2)
        pos.services.static_per_hour = LIMIT
        prog = await pos.program("STATIC-FLUSH")
        code = await pos.static_code(pos.member())
        for _ in range(LIMIT):
            assert (await _redeem(client, pos, code, prog)).status_code == 201
        _refused(await _redeem(client, pos, code, prog))
        redis = Redis.from_url(redis_url)
        try:
            await redis.flushdb()  # what a restart without persistence leaves
        finally:
            await redis.aclose()
        _refused(await _redeem(client, pos, code, prog))
        # The hour slides: an hour after the first uses, the card may be used again.
        pos.services.clock = later(3601)
        assert (await _redeem(client, pos, code, prog)).status_code == 201


async def test_limit_holds_across_workers_with_redis_unreachable(
    engine: AsyncEngine, demo: dict[str, Any], settings: Settings
) -> None:
    # Two workers (two apps), each with only its in-process limiter: Redis is down.
    first = app_with_redis(settings, "redis://127.0.0.1:1/0")
    second = app_with_redis(settings, "redis://127.0.0.1:1/0")
    async with AsyncTestClient(app=first) as a, AsyncTestClient(app=second) as b:
        pos_a = await make_pos(engine, first, demo, n=2)
        pos_b = await make_pos(engine, second, demo, n=2)
        for p in (pos_a, pos_b):
            p.services.static_per_hour = LIMIT
        prog = await pos_a.program("STATIC-DOWN")
        code = await pos_a.static_code(pos_a.member())
        assert (await _redeem(a, pos_a, code, prog)).status_code == 201
        assert (await _redeem(b, pos_b, code, prog)).status_code == 201
        assert (await _redeem(a, pos_a, code, prog)).status_code == 201
        _refused(await _redeem(b, pos_b, code, prog))
        _refused(await _redeem(a, pos_a, code, prog))
        # Another member's card is not affected.
        other = await pos_a.static_code(pos_a.member())
        assert (await _redeem(b, pos_b, other, prog)).status_code == 201
