"""Per-key rate limits: 429 + Retry-After, in-process and in Redis; Redis down → degrade."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.ratelimit import RateLimiter
from merchants.config import MerchantConfig
from merchants.terminal.auth import GATE_STATE_KEY, TerminalGate
from tests.merchants.conftest import USCC_2, bearer, login, onboard, org_id

Client = AsyncTestClient[Litestar]
# A fixed instant 10 s into a minute, so that no minute boundary falls inside a test.
T0 = 60 * 20_000 + 10.0


def _gate(limiter: RateLimiter, limit: int) -> TerminalGate:
    return TerminalGate(MerchantConfig(rate_limit_per_minute=limit), limiter=limiter)


async def _two_terminals(client: Client, engine: AsyncEngine) -> tuple[str, str]:
    await login(client, "yc.merchants")
    a = await onboard(client, await org_id(engine, "HB-YC-XL"))
    b = await onboard(client, await org_id(engine, "HB-YC-WJG"), uscc=USCC_2, region="420503")
    return a["key"], b["key"]


async def _expect_limit(client: Client, key: str, other: str, limit: int) -> None:
    for _ in range(limit):
        r = await client.get("/api/v1/terminal", headers=bearer(key))
        assert r.status_code == 200, r.text
    r = await client.get("/api/v1/terminal", headers=bearer(key))
    assert r.status_code == 429
    problem = r.json()
    assert problem["code"] == "rate_limited" and problem["message_en"]
    # 3 requests this minute: a 4th fits 20 s into the next one (sliding window): 50 + 20 s.
    assert r.headers["retry-after"] == "70" and problem["retry_after"] == 70
    # Per key: another terminal is not affected.
    assert (await client.get("/api/v1/terminal", headers=bearer(other))).status_code == 200


async def test_in_process_limit(
    app: Litestar, client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    key, other = await _two_terminals(client, engine)
    app.state[GATE_STATE_KEY] = _gate(RateLimiter(None, clock=lambda: T0), 3)
    await _expect_limit(client, key, other, 3)


@pytest.mark.redis
async def test_redis_limit_is_shared_by_workers(
    app: Litestar, client: Client, engine: AsyncEngine, demo: dict[str, Any], redis_url: str
) -> None:
    key, other = await _two_terminals(client, engine)
    redis = Redis.from_url(redis_url)
    try:
        worker_a = RateLimiter(redis, clock=lambda: T0)
        worker_b = RateLimiter(redis, clock=lambda: T0)
        assert (await worker_a.hit("uck_shared00", 3)).allowed
        assert (await worker_b.hit("uck_shared00", 3)).allowed
        assert (await worker_a.hit("uck_shared00", 3)).backend == "redis"
        refused = await worker_b.hit("uck_shared00", 3)
        assert not refused.allowed and refused.backend == "redis"
        # The counter key is hash-tagged by the key's prefix and expires.
        names = sorted(await redis.keys("unioncard:*"))  # bytes: the client decodes nothing
        assert names == [f"unioncard:{{rl:uck_shared00}}:60:{int(T0 // 60)}".encode()]
        assert await redis.get(names[0]) == b"3"  # the refused hit is not counted
        assert 0 < await redis.ttl(names[0]) <= 121

        # The app runs on the test client's own event loop: it gets its own Redis client.
        app_redis = Redis.from_url(redis_url)
        app.state[GATE_STATE_KEY] = _gate(RateLimiter(app_redis, clock=lambda: T0), 3)
        await _expect_limit(client, key, other, 3)
        prefix = key[:12]
        assert await redis.exists(f"unioncard:{{rl:{prefix}}}:60:{int(T0 // 60)}")
    finally:
        await redis.aclose()


async def test_redis_down_degrades_to_in_process(
    app: Litestar,
    client: Client,
    engine: AsyncEngine,
    demo: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    key, other = await _two_terminals(client, engine)
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    limiter = RateLimiter(dead, clock=lambda: T0)
    app.state[GATE_STATE_KEY] = _gate(limiter, 3)
    with caplog.at_level(logging.WARNING, logger="unioncard.ratelimit"):
        await _expect_limit(client, key, other, 3)  # requests succeed, and are still limited
    assert limiter.degraded
    warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1  # logged once per outage, not once per request
    await dead.aclose()


async def test_zero_disables_the_limit(
    app: Litestar, client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    key, _ = await _two_terminals(client, engine)
    app.state[GATE_STATE_KEY] = _gate(RateLimiter(None, clock=lambda: T0), 0)
    for _ in range(5):
        assert (await client.get("/api/v1/terminal", headers=bearer(key))).status_code == 200
