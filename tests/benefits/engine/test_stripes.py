"""Programme budgets split into counter stripes (``UNIONCARD_BUDGET_STRIPES``): the concurrency
tests of test_concurrency.py again with stripes — never overspent, never refused while the
budget has enough left, reversals give back to the stripe taken from, reconciliation per stripe.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest
from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.engine.counters import budget_stripes, pick_stripe, set_budget_stripes, share
from benefits.errors import AlreadyReversed, BudgetExhausted, QuotaExhausted
from benefits.models import Counter
from benefits.public import RedemptionResult, program_usage, quote, reconcile, redeem, reverse
from tests.benefits.conftest import NOON, counters, ledger, member, merchant, published
from tests.benefits.engine.test_concurrency import _race

BUDGET = {"key": "budget", "metric": "amount", "scope": "program", "period": "month"}
OFF_300 = {"kind": "amount_off", "off_fen": 300, "funded_by": "federation"}


@pytest.fixture
def stripes() -> Iterator[int]:
    before = budget_stripes()
    set_budget_stripes(4)
    yield 4
    set_budget_stripes(before)


def _total(found: dict[tuple[str, str, str], int], policy: str) -> int:
    return sum(v for (p, _, _), v in found.items() if p == policy)


async def _layouts(engine: AsyncEngine, program_id: Any) -> dict[str, tuple[int, int, int]]:
    c = Counter.__table__
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(c.c.scope_key, c.c.used, c.c.limit, c.c.stripes).where(
                c.c.program_id == program_id, c.c.policy_key == "budget"
            )
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_shares_add_up_to_the_limit() -> None:
    for limit in (0, 1, 3, 10, 999, 1000, 10**12 + 7):
        for n in (1, 2, 3, 4, 7, 64):
            parts = [share(limit, n, i) for i in range(n)]
            assert sum(parts) == limit and max(parts) - min(parts) <= 1


def test_the_setting_is_bounded() -> None:
    with pytest.raises(ValueError):
        set_budget_stripes(0)
    with pytest.raises(ValueError):
        set_budget_stripes(65)


async def test_concurrent_redemptions_never_overspend_a_striped_budget(
    engine: AsyncEngine, stripes: int
) -> None:
    # 4 stripes of 250: no stripe alone holds a 300 discount, so every redemption gathers it
    # from several stripes, and the fourth is refused only because 100 < 300 is left.
    p = await published(engine, benefit=OFF_300, limits=[{**BUDGET, "limit": 1000}])
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
    assert sum(r.discount_fen for r in await ledger(engine, p.id)) == 900
    rows = await _layouts(engine, p.id)
    assert set(rows) == {"p", "p#1", "p#2", "p#3"}
    assert all(used <= limit == 250 and n == 4 for used, limit, n in rows.values())
    assert sum(used for used, _, _ in rows.values()) == 900
    async with engine.connect() as conn:
        assert (await reconcile(conn, fix=False)).ok


async def test_fifty_racers_against_a_striped_count_of_ten(
    engine: AsyncEngine, stripes: int
) -> None:
    ten = {"key": "ten", "metric": "count", "scope": "program", "period": "month", "limit": 10}
    p = await published(engine, limits=[ten])
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
    assert sum(isinstance(r, RedemptionResult) for r in results) == 10
    assert sum(isinstance(r, QuotaExhausted) for r in results) == 40
    found = await counters(engine, p.id)
    assert _total(found, "ten") == 10
    assert {s for _, s, _ in found} == {"p", "p#1", "p#2", "p#3"}  # shares 3, 3, 2, 2
    assert len(await ledger(engine, p.id)) == 10


async def test_clamp_gathers_what_is_left_across_stripes(engine: AsyncEngine, stripes: int) -> None:
    p = await published(
        engine, benefit=OFF_300, limits=[{**BUDGET, "limit": 1000, "on_exceed": "clamp"}]
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
    assert _total(await counters(engine, p.id), "budget") == 1000
    async with engine.connect() as conn:
        assert (await reconcile(conn, fix=False)).ok


async def test_a_redemption_takes_from_its_stripe_and_its_reversal_gives_it_back(
    engine: AsyncEngine, stripes: int
) -> None:
    p = await published(engine, benefit=OFF_300, limits=[{**BUDGET, "limit": 100_000}])
    shop = merchant()
    async with engine.connect() as conn:
        # The first redemption of the period lays out the four stripes.
        await redeem(
            conn,
            member=member(),
            merchant=shop,
            program_ids=p.id,
            amount_fen=5000,
            idempotency_key="first",
            at=NOON,
        )
        key = next(k for k in (f"k{i}" for i in range(100)) if pick_stripe(k, 4) == 2)
        before = await _layouts(engine, p.id)
        done = await redeem(
            conn,
            member=member(),
            merchant=shop,
            program_ids=p.id,
            amount_fen=5000,
            idempotency_key=key,
            at=NOON,
        )
    after = await _layouts(engine, p.id)
    assert after["p#2"][0] == before["p#2"][0] + 300
    assert {s: v for s, v in after.items() if s != "p#2"} == {
        s: v for s, v in before.items() if s != "p#2"
    }
    row = next(r for r in await ledger(engine, p.id) if r.checkout_id == done.redemption_id)
    assert [(t["s"], t["n"], t["T"]) for t in row.takes] == [("p#2", 300, 4)]
    # The result shows one budget line, the member's and merchant's view of it.
    assert [(s.policy, s.take) for s in done.lines[0].limits] == [("budget", 300)]
    async with engine.connect() as conn:
        await reverse(conn, redemption_id=done.redemption_id, merchant_id=shop.merchant_id)
    assert await _layouts(engine, p.id) == before


async def test_a_split_take_is_recorded_per_stripe_and_reversed_per_stripe(
    engine: AsyncEngine, stripes: int
) -> None:
    # Shares of 250: a 300 discount comes from two stripes (the walk, in ascending order).
    p = await published(engine, benefit=OFF_300, limits=[{**BUDGET, "limit": 1000}])
    shop = merchant()
    async with engine.connect() as conn:
        done = await redeem(
            conn,
            member=member(),
            merchant=shop,
            program_ids=p.id,
            amount_fen=5000,
            idempotency_key="split",
            at=NOON,
        )
    row = (await ledger(engine, p.id))[0]
    assert [(t["s"], t["n"]) for t in row.takes] == [("p", 250), ("p#1", 50)]
    assert done.lines[0].limits[0].take == 300
    async with engine.connect() as conn:
        usage = await program_usage(conn, program_id=p.id, at=NOON)
        assert usage.budget_spent_fen == 300 and usage.policies[0].remaining == 700
        q = await quote(
            conn, member=member(), merchant=shop, amount_fen=5000, at=NOON, program_ids=[p.id]
        )
        assert q.applicable[0].limits[0].remaining_before == 700
        await reverse(conn, redemption_id=done.redemption_id, merchant_id=shop.merchant_id)
    assert {s: used for s, (used, _, _) in (await _layouts(engine, p.id)).items()} == {
        "p": 0,
        "p#1": 0,
        "p#2": 0,
        "p#3": 0,
    }
    async with engine.connect() as conn:
        assert (await reconcile(conn, fix=False)).ok


async def test_the_layout_stays_when_the_setting_changes_mid_period(
    engine: AsyncEngine, stripes: int
) -> None:
    p = await published(engine, benefit=OFF_300, limits=[{**BUDGET, "limit": 3000}])
    shop = merchant()

    async def spend(tag: str, n: int) -> list[Any]:
        return await _race(
            n,
            lambda i, conn: redeem(
                conn,
                member=member(),
                merchant=shop,
                program_ids=p.id,
                amount_fen=5000,
                idempotency_key=f"{tag}{i}",
                at=NOON,
            ),
            engine,
        )

    await spend("a", 4)  # laid out in 4 stripes of 750
    for n in (8, 1):  # then the operator changes the setting twice
        set_budget_stripes(n)
        await spend(f"s{n}-", 2)
    results = await spend("z", 6)
    assert sum(isinstance(r, BudgetExhausted) for r in results) == 4
    rows = await _layouts(engine, p.id)
    assert set(rows) == {"p", "p#1", "p#2", "p#3"}
    assert all(n == 4 and limit == 750 and used <= limit for used, limit, n in rows.values())
    assert sum(used for used, _, _ in rows.values()) == 3000 == 10 * 300
    async with engine.connect() as conn:
        assert (await reconcile(conn, fix=False)).ok


async def test_reconcile_checks_and_rebuilds_each_stripe(engine: AsyncEngine, stripes: int) -> None:
    p = await published(engine, benefit=OFF_300, limits=[{**BUDGET, "limit": 1000}])
    shop = merchant()
    async with engine.connect() as conn:
        await redeem(
            conn,
            member=member(),
            merchant=shop,
            program_ids=p.id,
            amount_fen=5000,
            idempotency_key="split",
            at=NOON,
        )
    c = cast(Table, Counter.__table__)
    async with engine.begin() as conn:
        await conn.execute(delete(c).where(c.c.program_id == p.id, c.c.scope_key == "p#1"))
        await conn.execute(
            update(c).where(c.c.program_id == p.id, c.c.scope_key == "p#2").values(used=7)
        )
    async with engine.connect() as conn:
        report = await reconcile(conn, fix=True)
    assert {(d.scope_key, d.counter_used, d.ledger_used) for d in report.drifts} == {
        ("p#1", 0, 50),
        ("p#2", 7, 0),
    }
    rows = await _layouts(engine, p.id)
    assert rows["p#1"] == (50, 250, 4) and rows["p#2"][0] == 0
    async with engine.connect() as conn:
        assert (await reconcile(conn, fix=False)).ok


async def test_mixed_traffic_on_stripes_keeps_counters_equal_to_the_ledger(
    engine: AsyncEngine, stripes: int
) -> None:
    p = await published(
        engine,
        benefit={"kind": "percent_off", "basis_points": 2000, "funded_by": "federation"},
        limits=[
            {"key": "daily", "metric": "count", "scope": "member", "period": "day", "limit": 2},
            {**BUDGET, "limit": 20_000, "on_exceed": "clamp"},
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
    spent = _total(await counters(engine, p.id), "budget")
    live = [r for r in await ledger(engine, p.id) if r.reversal_id is None]
    assert spent == sum(r.value_fen for r in live) <= 20_000


async def test_one_row_and_stripes_side_by_side(
    engine: AsyncEngine, stripes: int, record_property: Any
) -> None:
    """The concurrency test against a budget laid out as one row and as 4 stripes, in the same
    run: both end exactly spent, never over. The throughput of each is recorded (a property of
    the test report), not asserted: timings are for bench/stripes.py."""
    rates: dict[int, float] = {}
    for n in (1, 4):
        set_budget_stripes(n)
        p = await published(engine, benefit=OFF_300, limits=[{**BUDGET, "limit": 300 * 30}])
        shop = merchant()
        started = time.perf_counter()

        async def make(i: int, conn: Any, p: Any = p, shop: Any = shop) -> RedemptionResult:
            return await redeem(
                conn,
                member=member(),
                merchant=shop,
                program_ids=p.id,
                amount_fen=5000,
                idempotency_key=f"k{i}",
                at=NOON,
            )

        results = await _race(40, make, engine)
        rates[n] = len(results) / (time.perf_counter() - started)
        assert sum(isinstance(r, RedemptionResult) for r in results) == 30
        assert sum(isinstance(r, BudgetExhausted) for r in results) == 10
        assert _total(await counters(engine, p.id), "budget") == 9000
        assert len({s for _, s, _ in await counters(engine, p.id)}) == n
    record_property("redemptions_per_s_one_row", round(rates[1]))
    record_property("redemptions_per_s_4_stripes", round(rates[4]))
    async with engine.connect() as conn:
        assert (await reconcile(conn, fix=False)).ok


async def test_racing_redemptions_and_reversals_near_exhaustion_never_deadlock(
    engine: AsyncEngine,
) -> None:
    """Short stripes, walks, first attempts and reversals all at once: every outcome is a
    result or a refusal (a deadlock would surface as a database error after the retries)."""
    before = budget_stripes()
    set_budget_stripes(8)
    try:
        for round_ in range(3):
            p = await published(
                engine, benefit=OFF_300, limits=[{**BUDGET, "limit": 300 * 25 + 150}]
            )
            shop = merchant()

            async def act(
                i: int, conn: Any, p: Any = p, shop: Any = shop, round_: int = round_
            ) -> Any:
                r = await redeem(
                    conn,
                    member=member(),
                    merchant=shop,
                    program_ids=p.id,
                    amount_fen=5000,
                    idempotency_key=f"r{round_}-{i}",
                    at=NOON,
                )
                if i % 5 == 0:
                    await reverse(conn, redemption_id=r.redemption_id, merchant_id=shop.merchant_id)
                return r

            results = await _race(40, act, engine)
            odd = [r for r in results if not isinstance(r, RedemptionResult | BudgetExhausted)]
            assert not odd, odd
            assert _total(await counters(engine, p.id), "budget") <= 300 * 25 + 150
    finally:
        set_budget_stripes(before)
    async with engine.connect() as conn:
        assert (await reconcile(conn, fix=False)).ok
