"""Limits hold under concurrent redemptions, retries and reversals (SQLite and PostgreSQL).

Each redemption runs on its own connection, so on PostgreSQL they really are concurrent
transactions racing for the same counter rows.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.errors import AlreadyReversed, BenefitsError, BudgetExhausted, QuotaExhausted
from benefits.public import RedemptionResult, reconcile, redeem, reverse
from tests.benefits.conftest import NOON, counters, ledger, member, merchant, published


async def _race(
    n: int, make: Callable[[int, Any], Awaitable[Any]], engine: AsyncEngine
) -> list[Any]:
    gate = asyncio.Event()

    async def one(i: int) -> Any:
        async with engine.connect() as conn:
            await gate.wait()
            try:
                return await make(i, conn)
            except BenefitsError as exc:
                return exc

    tasks = [asyncio.create_task(one(i)) for i in range(n)]
    await asyncio.sleep(0.05)
    gate.set()
    return await asyncio.gather(*tasks)


async def test_fifty_concurrent_redemptions_against_a_limit_of_ten(engine: AsyncEngine) -> None:
    p = await published(
        engine,
        limits=[
            {"key": "ten", "metric": "count", "scope": "program", "period": "month", "limit": 10}
        ],
    )
    shop = merchant()
    results = await _race(
        50,
        lambda i, conn: redeem(
            conn,
            member=member(),
            merchant=shop,
            program_ids=p.id,
            amount_fen=1000,
            idempotency_key=f"k{i}",
            at=NOON,
        ),
        engine,
    )
    ok = [r for r in results if isinstance(r, RedemptionResult)]
    refused = [r for r in results if isinstance(r, QuotaExhausted)]
    assert len(ok) == 10 and len(refused) == 40
    assert len(await ledger(engine, p.id)) == 10
    assert await counters(engine, p.id) == {("ten", "p", "M2025-06"): 10}


async def test_one_member_racing_for_a_daily_quota(engine: AsyncEngine) -> None:
    p = await published(
        engine,
        limits=[
            {"key": "daily", "metric": "count", "scope": "member", "period": "day", "limit": 3}
        ],
    )
    m, shop = member(), merchant()
    results = await _race(
        20,
        lambda i, conn: redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=1000,
            idempotency_key=f"k{i}",
            at=NOON,
        ),
        engine,
    )
    assert sum(isinstance(r, RedemptionResult) for r in results) == 3
    assert len(await ledger(engine, p.id)) == 3


async def test_a_hard_budget_is_never_exceeded(engine: AsyncEngine) -> None:
    p = await published(
        engine,
        benefit={"kind": "amount_off", "off_fen": 300, "funded_by": "federation"},
        limits=[
            {
                "key": "budget",
                "metric": "amount",
                "scope": "program",
                "period": "month",
                "limit": 1000,
            }
        ],
    )
    shop = merchant()
    results = await _race(
        20,
        lambda i, conn: redeem(
            conn,
            member=member(),
            merchant=shop,
            program_ids=p.id,
            amount_fen=5000,
            idempotency_key=f"k{i}",
            at=NOON,
        ),
        engine,
    )
    ok = [r for r in results if isinstance(r, RedemptionResult)]
    assert len(ok) == 3
    assert all(isinstance(r, BudgetExhausted) for r in results if r not in ok)
    rows = await ledger(engine, p.id)
    assert sum(r.discount_fen for r in rows) == 900
    assert await counters(engine, p.id) == {("budget", "p", "M2025-06"): 900}


async def test_with_clamp_the_last_redemption_gets_what_is_left(engine: AsyncEngine) -> None:
    p = await published(
        engine,
        benefit={"kind": "amount_off", "off_fen": 300, "funded_by": "federation"},
        limits=[
            {
                "key": "budget",
                "metric": "amount",
                "scope": "program",
                "period": "month",
                "limit": 1000,
                "on_exceed": "clamp",
            }
        ],
    )
    shop = merchant()
    results = await _race(
        20,
        lambda i, conn: redeem(
            conn,
            member=member(),
            merchant=shop,
            program_ids=p.id,
            amount_fen=5000,
            idempotency_key=f"k{i}",
            at=NOON,
        ),
        engine,
    )
    ok = [r for r in results if isinstance(r, RedemptionResult)]
    assert sorted(r.discount_fen for r in ok) == [100, 300, 300, 300]
    assert all(isinstance(r, BudgetExhausted) for r in results if r not in ok)
    rows = await ledger(engine, p.id)
    assert sum(r.discount_fen for r in rows) == sum(r.subsidy_fen for r in rows) == 1000
    assert await counters(engine, p.id) == {("budget", "p", "M2025-06"): 1000}


async def test_concurrent_retries_make_one_ledger_row(engine: AsyncEngine) -> None:
    p = await published(
        engine,
        limits=[
            {"key": "daily", "metric": "count", "scope": "member", "period": "day", "limit": 5}
        ],
    )
    m, shop = member(), merchant()
    results = await _race(
        20,
        lambda i, conn: redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=2000,
            idempotency_key="the-same-key",
            at=NOON,
            token_id="TOK",
        ),
        engine,
    )
    assert all(isinstance(r, RedemptionResult) for r in results), results
    assert len({r.redemption_id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert len(await ledger(engine, p.id)) == 1
    assert list((await counters(engine, p.id)).values()) == [1]


async def test_concurrent_reversals_restore_once(engine: AsyncEngine) -> None:
    p = await published(
        engine,
        limits=[
            {"key": "daily", "metric": "count", "scope": "program", "period": "day", "limit": 5}
        ],
    )
    shop = merchant()
    async with engine.connect() as conn:
        done = [
            await redeem(
                conn,
                member=member(),
                merchant=shop,
                program_ids=p.id,
                amount_fen=100,
                idempotency_key=f"r{i}",
                at=NOON,
            )
            for i in range(2)
        ]
    target = done[0].redemption_id
    results = await _race(
        10,
        lambda i, conn: reverse(conn, redemption_id=target, merchant_id=shop.merchant_id),
        engine,
    )
    assert sum(not isinstance(r, BenefitsError) for r in results) == 1
    assert sum(isinstance(r, AlreadyReversed) for r in results) == 9
    assert list((await counters(engine, p.id)).values()) == [1]
    async with engine.connect() as conn:
        assert (await reconcile(conn, fix=False)).ok


async def test_mixed_traffic_keeps_counters_equal_to_the_ledger(engine: AsyncEngine) -> None:
    p = await published(
        engine,
        benefit={"kind": "percent_off", "basis_points": 2000, "funded_by": "federation"},
        limits=[
            {"key": "daily", "metric": "count", "scope": "member", "period": "day", "limit": 2},
            {
                "key": "budget",
                "metric": "amount",
                "scope": "program",
                "period": "month",
                "limit": 20_000,
                "on_exceed": "clamp",
            },
        ],
    )
    members = [member() for _ in range(6)]
    shops = [merchant() for _ in range(3)]

    async def act(i: int, conn: Any) -> Any:
        r = await redeem(
            conn,
            member=members[i % 6],
            merchant=shops[i % 3],
            program_ids=p.id,
            amount_fen=3000 + 700 * i,
            idempotency_key=f"k{i % 25}",
            at=NOON,
        )
        if i % 4 == 0 and not r.replayed:
            with contextlib.suppress(AlreadyReversed):
                await reverse(
                    conn, redemption_id=r.redemption_id, merchant_id=shops[i % 3].merchant_id
                )
        return r

    await _race(40, act, engine)
    async with engine.connect() as conn:
        report = await reconcile(conn, fix=False)
    assert report.ok, report.drifts
    totals = await counters(engine, p.id)
    assert totals[("budget", "p", "M2025-06")] <= 20_000
    assert all(v <= 2 for (k, _, _), v in totals.items() if k == "daily")
    live = [r for r in await ledger(engine, p.id) if r.reversal_id is None]
    assert totals[("budget", "p", "M2025-06")] == sum(r.value_fen for r in live)
