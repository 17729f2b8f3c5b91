"""The same sign-in rules with Redis behind the codes and the limits (production mode)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.app import create_app
from cardsvc.memberauth.senders import RecordingSender
from tests.conftest import make_test_settings
from tests.support.contract import contract_client

pytestmark = pytest.mark.redis


@pytest.fixture
async def redis_app(
    db_url: str, var_dir: Path, redis_url: str, engine: AsyncEngine
) -> AsyncIterator[tuple[Litestar, AsyncTestClient, RecordingSender]]:
    settings = dataclasses.replace(make_test_settings(db_url, var_dir), redis_url=redis_url)
    app = create_app(settings)
    sender = RecordingSender()
    app.state.sender = sender
    async with contract_client(app) as client:
        yield app, client, sender


def _code(sender: RecordingSender) -> str:
    match = re.search(r"验证码 (\d{6})", sender.sent[-1][1])
    assert match
    return match.group(1)


async def test_code_single_use_and_rate_limits_on_redis(
    redis_app: tuple[Litestar, AsyncTestClient, RecordingSender], redis_url: str
) -> None:
    app, client, sender = redis_app
    assert app.state.redis is not None
    phone = "13912345680"
    assert (await client.post("/api/v1/me/otp", json={"phone": phone})).status_code == 202
    again = await client.post("/api/v1/me/otp", json={"phone": phone})
    assert again.status_code == 429 and int(again.headers["retry-after"]) > 0
    code = _code(sender)
    ok = await client.post("/api/v1/me/session", json={"phone": phone, "code": code})
    assert ok.status_code == 200, ok.text
    reused = await client.post("/api/v1/me/session", json={"phone": phone, "code": code})
    assert reused.status_code == 401 and reused.json()["code"] == "otp_invalid"
    # The limits live in Redis, and the code is stored only hashed.
    inspect = Redis.from_url(redis_url)
    try:
        limits = [k async for k in inspect.scan_iter("unioncard:{rl:*")]  # the rate limiter's
        assert any(b"otp-resend" in k for k in limits)
        keys = limits + [k async for k in inspect.scan_iter("uc:*")]  # and short-lived keys
        for k in keys:
            assert code.encode() not in (await inspect.get(k) or b"")
    finally:
        await inspect.aclose()
