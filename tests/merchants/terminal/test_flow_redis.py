"""The whole flow with Redis (onboard → key → scan → redeem → retry → reverse → settlement CSV),
and redemptions with Redis down: they continue, and the ledger still refuses a replayed code."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.models import Redemption, Reversal
from cardsvc.app import create_app
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.settings import Settings
from merchants.terminal.auth import GATE_STATE_KEY
from tests.merchants.conftest import login, onboard, org_id, standalone_app
from tests.support.pos import make_pos

Client = AsyncTestClient[Litestar]
pytestmark = pytest.mark.redis


def app_with_redis(settings: Settings, url: str) -> Litestar:
    with_redis = replace(settings, redis_url=url)
    app = create_app(with_redis)
    return app if GATE_STATE_KEY in app.state else standalone_app(with_redis)


def _month() -> str:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")


async def test_full_flow(
    engine: AsyncEngine, demo: dict[str, Any], settings: Settings, redis_url: str
) -> None:
    app = app_with_redis(settings, redis_url)
    async with AsyncTestClient(app=app) as client:
        await _full_flow(client, app, engine, demo, redis_url)


async def _full_flow(
    client: Client, app: Litestar, engine: AsyncEngine, demo: dict[str, Any], redis_url: str
) -> None:
    pos = await make_pos(engine, app, demo, n=4)
    prog = await pos.program(
        "FLOW",
        benefit={"kind": "percent_off", "basis_points": 2000, "funded_by": "federation"},
        limits=[{"metric": "count", "scope": "member", "period": "month", "limit": 5}],
    )
    # Onboard a new merchant over HTTP and take its key.
    await login(client, "yc.merchants")
    made = await onboard(client, await org_id(engine, "HB-YC-XL"))
    t = {"key": made["key"], "merchant_id": made["merchant"]["id"]}
    mid = pos.member()
    code = await pos.code(mid)

    r = await client.post(
        "/api/v1/scans", json={"code": code, "amount_fen": 10000}, headers=pos.headers(t)
    )
    assert r.status_code == 200, r.text
    flow = next(b for b in r.json()["benefits"] if b["program_code"] == "FLOW")
    assert flow["benefit"]["discount_fen"] == 2000 and flow["remaining"][0]["left"] == 5

    body = {"code": code, "program_id": str(prog.id), "amount_fen": 10000}
    r = await client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, "pos-1"))
    assert r.status_code == 201, r.text
    red = r.json()
    assert red["discount_fen"] == 2000 and red["subsidy_fen"] == 2000
    assert red["remaining"][0]["left"] == 4

    # The code's id is burned in Redis for its validity plus the skew.
    redis = Redis.from_url(redis_url)
    try:
        keys = [k async for k in redis.scan_iter(match="*tok:*")]
        assert len(keys) == 1
        ttl = await redis.ttl(keys[0])
        assert 0 < ttl <= 60 + 30
    finally:
        await redis.aclose()

    r = await client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, "pos-1"))
    assert r.status_code == 200 and r.headers["Idempotent-Replayed"] == "true"
    assert r.json()["id"] == red["id"]
    r = await client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, "pos-2"))
    assert r.status_code == 409 and r.json()["code"] == "token_replayed"

    second = {"code": await pos.code(pos.member()), "program_id": str(prog.id), "amount_fen": 5000}
    r = await client.post("/api/v1/redemptions", json=second, headers=pos.headers(t, "pos-3"))
    assert r.status_code == 201

    r = await client.post(
        f"/api/v1/redemptions/{red['id']}/reversal",
        json={"reason": "顾客退单"},
        headers=pos.headers(t, "void-1"),
    )
    assert r.status_code == 201, r.text

    r = await client.get(
        f"/api/v1/settlements/{_month()}", headers={**pos.headers(t), "Accept": "text/csv"}
    )
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text)))
    lines, total = rows[:-1], rows[-1]
    # The CSV sums equal the ledger's rows of this merchant that were not reversed.
    async with make_sessionmaker(engine)() as session:
        R, RV = Redemption.__table__, Reversal.__table__
        live = (
            await session.execute(
                select(func.count(), func.sum(R.c.discount_fen), func.sum(R.c.subsidy_fen))
                .select_from(R.outerjoin(RV, RV.c.redemption_id == R.c.id))
                .where(R.c.merchant_id == uuid.UUID(t["merchant_id"]), RV.c.id.is_(None))
            )
        ).one()
    assert (
        (int(total["count"]), int(total["discount_fen"]), int(total["subsidy_fen"]))
        == (
            live[0],
            live[1],
            live[2],
        )
        == (1, 1000, 1000)
    )
    assert sum(int(x["reversed"]) for x in lines) == 1


async def test_redis_down_redemptions_continue_and_replays_are_refused(
    engine: AsyncEngine, demo: dict[str, Any], settings: Settings, redis_url: str
) -> None:
    # Redis down: a port nothing listens on.
    app = app_with_redis(settings, "redis://127.0.0.1:1/0")
    async with AsyncTestClient(app=app) as client:
        await _redis_down(client, app, engine, demo)


async def _redis_down(
    client: Client, app: Litestar, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    pos = await make_pos(engine, app, demo, n=3)
    prog = await pos.program("DINE10")
    t = pos.terminal()
    code = await pos.code(pos.member())
    body = {"code": code, "program_id": str(prog.id), "amount_fen": 3000}
    r = await client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, "a"))
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, "a"))
    assert r.status_code == 200 and r.headers["Idempotent-Replayed"] == "true"
    # No Redis to remember the code: the ledger's unique token id refuses the replay.
    r = await client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, "b"))
    assert r.status_code == 409 and r.json()["code"] == "token_replayed", r.text
    other = {**body, "code": await pos.code(pos.member())}
    r = await client.post("/api/v1/redemptions", json=other, headers=pos.headers(t, "c"))
    assert r.status_code == 201, r.text
    async with make_sessionmaker(engine)() as session:
        assert await session.scalar(select(func.count()).select_from(Redemption)) == 2
