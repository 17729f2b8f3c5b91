"""Redeem, retry, reverse and refuse, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.errors import (
    AlreadyReversed,
    BelowMinSpend,
    BudgetExhausted,
    IdempotencyConflict,
    NotEligible,
    NotFound,
    NotInScope,
    ProgramInactive,
    QuotaExhausted,
    StackingConflict,
    TokenReplayed,
    ValidationError,
)
from benefits.public import (
    find_redemption,
    quote,
    redeem,
    reverse,
    update_program,
)
from cardsvc.kernel.db import make_sessionmaker
from tests.benefits.conftest import NOON, counters, ledger, member, merchant, published, rules
from tests.support.counters import all_counters

DAILY = {"key": "daily", "metric": "count", "scope": "member", "period": "day", "limit": 1}


async def test_redeem_applies_the_benefit_and_charges_every_limit(engine: AsyncEngine) -> None:
    p = await published(
        engine,
        benefit={
            "kind": "percent_off",
            "basis_points": 1000,
            "cap_fen": 3000,
            "funded_by": "federation",
        },
        limits=[
            {"key": "per_day", "metric": "count", "scope": "member", "period": "day", "limit": 2},
            {
                "key": "budget",
                "metric": "amount",
                "scope": "program",
                "period": "month",
                "limit": 100_000,
            },
            {
                "key": "shop_week",
                "metric": "count",
                "scope": "member_merchant",
                "period": "week",
                "limit": 5,
            },
        ],
    )
    m, shop = member(), merchant()
    async with engine.connect() as conn:
        r = await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=12_345,
            idempotency_key="pos-1",
            at=NOON,
            card_id=uuid.uuid4(),
            token_id="T1",
        )
    assert (r.amount_fen, r.discount_fen, r.payable_fen, r.subsidy_fen) == (
        12_345,
        1235,
        11_110,
        1235,
    )
    assert not r.replayed and r.lines[0].program_code == p.code
    limits = {s.policy: s for s in r.lines[0].limits}
    assert (limits["per_day"].remaining_before, limits["per_day"].remaining_after) == (2, 1)
    assert limits["budget"].take == 1235 and limits["budget"].is_budget
    assert limits["budget"].remaining_after == 100_000 - 1235
    assert limits["per_day"].period_ends_at == datetime(2025, 6, 11, 16, 0, tzinfo=UTC)
    assert await counters(engine, p.id) == {
        ("per_day", f"m:{m.id.hex}", "D2025-06-11"): 1,
        ("budget", "p", "M2025-06"): 1235,
        ("shop_week", f"mx:{m.id.hex}:{shop.merchant_id.hex}", "W2025-06-09"): 1,
    }
    rows = await ledger(engine, p.id)
    assert len(rows) == 1
    row = rows[0]
    assert (row.merchant_id, row.store_id, row.terminal_id, row.member_id) == (
        shop.merchant_id,
        shop.store_id,
        shop.terminal_id,
        m.id,
    )
    assert (row.version_number, row.discount_fen, row.token_id) == (1, 1235, "T1")
    assert row.occurred_at == NOON


async def test_retry_returns_the_original_and_a_different_request_conflicts(
    engine: AsyncEngine,
) -> None:
    p = await published(engine, limits=[DAILY])
    m, shop = member(), merchant()
    async with engine.connect() as conn:
        first = await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=5000,
            idempotency_key="k",
            at=NOON,
        )
        again = await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=[p.id],
            amount_fen=5000,
            idempotency_key="k",
            at=NOON + timedelta(minutes=3),
        )
        assert again.replayed and again.redemption_id == first.redemption_id
        assert (again.discount_fen, again.occurred_at) == (first.discount_fen, first.occurred_at)
        with pytest.raises(IdempotencyConflict) as info:
            await redeem(
                conn,
                member=m,
                merchant=shop,
                program_ids=p.id,
                amount_fen=6000,
                idempotency_key="k",
                at=NOON,
            )
        assert info.value.status == 409
        # The key is per merchant: another merchant may use the same one.
        other = merchant()
        await update_program(conn, program_id=p.id, rules=rules(limits=[]))
        fresh = await redeem(
            conn,
            member=m,
            merchant=other,
            program_ids=p.id,
            amount_fen=5000,
            idempotency_key="k",
            at=NOON,
        )
        assert not fresh.replayed and fresh.redemption_id != first.redemption_id
        found = await find_redemption(conn, merchant_id=shop.merchant_id, idempotency_key="k")
        assert found is not None and found.redemption_id == first.redemption_id
        assert (
            await find_redemption(
                conn, redemption_id=first.redemption_id, merchant_id=other.merchant_id
            )
            is None
        )
    assert len(await ledger(engine, p.id)) == 2
    assert (await counters(engine, p.id))[("daily", f"m:{m.id.hex}", "D2025-06-11")] == 1


async def test_refusals_carry_their_codes(engine: AsyncEngine) -> None:
    p = await published(
        engine,
        valid_from="2025-06-01T00:00:00+08:00",
        valid_until="2025-07-01T00:00:00+08:00",
        eligibility={"categories_any": ["hardship"], "hardship_levels": [2, 3]},
        scope={"merchant_categories": ["dining"], "regions": ["11"]},
        benefit={"kind": "amount_off", "off_fen": 1000, "min_spend_fen": 5000},
    )
    poor = member(categories={"hardship"}, hardship_level=2)
    shop = merchant(category="dining", region="110105")

    async def attempt(**kw: object) -> None:
        args: dict[str, Any] = {
            "member": poor,
            "merchant": shop,
            "program_ids": p.id,
            "amount_fen": 8000,
            "idempotency_key": uuid.uuid4().hex,
            "at": NOON,
        }
        args.update(kw)
        async with engine.connect() as conn:
            await redeem(conn, **args)

    with pytest.raises(NotEligible) as ne:
        await attempt(member=member(categories={"hardship"}, hardship_level=1))
    assert ne.value.code == "not_eligible" and ne.value.status == 403
    assert [r.code for r in ne.value.reasons] == ["hardship_level"]
    # Eligibility reasons are sensitive (PIPL): not in the problem body a merchant receives.
    assert "reasons" not in ne.value.extra and "困难" not in ne.value.message_zh
    with pytest.raises(NotEligible):
        await attempt(member=member(status="suspended", categories={"hardship"}, hardship_level=2))
    with pytest.raises(NotInScope) as ns:
        await attempt(merchant=merchant(category="cinema", region="110105"))
    assert ns.value.extra["reasons"][0]["code"] == "merchant_category_not_listed"
    with pytest.raises(NotInScope):
        await attempt(merchant=merchant(category="dining", region="310101"))
    with pytest.raises(ProgramInactive) as early:
        await attempt(at=datetime(2025, 5, 31, 15, 59, 59, tzinfo=UTC))  # 23:59:59 Shanghai
    assert early.value.reasons[0].code == "not_started"
    with pytest.raises(ProgramInactive) as late:
        await attempt(at=datetime(2025, 6, 30, 16, 0, tzinfo=UTC))  # 00:00 on 1 July Shanghai
    assert late.value.reasons[0].code == "expired"
    await attempt(at=datetime(2025, 6, 30, 15, 59, 59, tzinfo=UTC))  # last second: fine
    with pytest.raises(BelowMinSpend):
        await attempt(amount_fen=4999)
    bad: dict[str, Any]
    for bad in (
        {"amount_fen": -1},
        {"units": 0},
        {"idempotency_key": ""},
        {"program_ids": []},
        {"program_ids": [p.id, p.id]},
    ):
        with pytest.raises(ValidationError):
            await attempt(**bad)
    assert len(await ledger(engine, p.id)) == 1


async def test_quota_and_budget_exhaustion_name_the_policy(engine: AsyncEngine) -> None:
    p = await published(
        engine,
        benefit={"kind": "amount_off", "off_fen": 400},
        limits=[
            DAILY,
            {
                "key": "budget",
                "metric": "amount",
                "scope": "program",
                "period": "lifetime",
                "limit": 1000,
            },
        ],
    )
    shop = merchant()
    m = member()
    async with engine.connect() as conn:
        await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=900,
            idempotency_key="1",
            at=NOON,
        )
        with pytest.raises(QuotaExhausted) as q:
            await redeem(
                conn,
                member=m,
                merchant=shop,
                program_ids=p.id,
                amount_fen=900,
                idempotency_key="2",
                at=NOON,
            )
        assert q.value.extra["policy"] == "daily" and q.value.code == "quota_exhausted"
        assert "daily" in q.value.message_en
        # Tomorrow the daily quota is back, the budget is not.
        tomorrow = NOON + timedelta(days=1)
        await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=900,
            idempotency_key="3",
            at=tomorrow,
        )
        with pytest.raises(BudgetExhausted) as b:
            await redeem(
                conn,
                member=member(),
                merchant=shop,
                program_ids=p.id,
                amount_fen=900,
                idempotency_key="4",
                at=tomorrow,
            )
        assert b.value.extra["policy"] == "budget" and b.value.code == "budget_exhausted"
    assert (await counters(engine, p.id))[("budget", "p", "L")] == 800
    assert len(await ledger(engine, p.id)) == 2


async def test_daily_quota_resets_at_local_midnight(engine: AsyncEngine) -> None:
    p = await published(engine, limits=[DAILY])
    m, shop = member(), merchant()
    before = datetime(2025, 3, 9, 15, 59, 59, 999_000, tzinfo=UTC)  # 23:59:59.999 Shanghai
    after = datetime(2025, 3, 9, 16, 0, 0, tzinfo=UTC)  # 00:00:00 next day
    async with engine.connect() as conn:
        await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=100,
            idempotency_key="a",
            at=before,
        )
        with pytest.raises(QuotaExhausted):
            await redeem(
                conn,
                member=m,
                merchant=shop,
                program_ids=p.id,
                amount_fen=100,
                idempotency_key="b",
                at=before - timedelta(hours=15),
            )  # 09:00 same day
        await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=100,
            idempotency_key="c",
            at=after,
        )
    assert sorted(await counters(engine, p.id)) == [
        ("daily", f"m:{m.id.hex}", "D2025-03-09"),
        ("daily", f"m:{m.id.hex}", "D2025-03-10"),
    ]


async def test_weekly_quota_in_berlin_across_dst(engine: AsyncEngine) -> None:
    weekly = {"key": "weekly", "metric": "count", "scope": "member", "period": "week", "limit": 1}
    p = await published(engine, timezone="Europe/Berlin", limits=[weekly])
    m, shop = member(), merchant()
    monday = datetime(2024, 10, 20, 22, 0, tzinfo=UTC)  # Mon 21 Oct 00:00 CEST
    sunday = datetime(2024, 10, 27, 22, 59, 59, tzinfo=UTC)  # Sun 27 Oct 23:59:59 CET
    next_monday = datetime(2024, 10, 27, 23, 0, tzinfo=UTC)  # Mon 28 Oct 00:00 CET
    async with engine.connect() as conn:
        await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=100,
            idempotency_key="a",
            at=monday,
        )
        with pytest.raises(QuotaExhausted):
            await redeem(
                conn,
                member=m,
                merchant=shop,
                program_ids=p.id,
                amount_fen=100,
                idempotency_key="b",
                at=sunday,
            )
        await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=100,
            idempotency_key="c",
            at=next_monday,
        )
    assert set((await counters(engine, p.id)).values()) == {1}


async def test_clamp_gives_what_is_left(engine: AsyncEngine) -> None:
    tickets = await published(
        engine,
        scope={"merchant_categories": ["cinema"]},
        benefit={"kind": "subsidy", "per_unit_fen": 2000},
        limits=[
            {
                "key": "monthly",
                "metric": "units",
                "scope": "member",
                "period": "month",
                "limit": 2,
                "on_exceed": "clamp",
            }
        ],
    )
    cinema = merchant(category="cinema")
    m = member()
    async with engine.connect() as conn:
        r = await redeem(
            conn,
            member=m,
            merchant=cinema,
            program_ids=tickets.id,
            amount_fen=3 * 4500,
            units=3,
            idempotency_key="a",
            at=NOON,
        )
        # Two of the three tickets are covered: ¥20 off each of ¥45 tickets.
        assert (r.lines[0].units, r.discount_fen, r.subsidy_fen) == (2, 4000, 4000)
        assert r.payable_fen == 13_500 - 4000
        with pytest.raises(QuotaExhausted):
            await redeem(
                conn,
                member=m,
                merchant=cinema,
                program_ids=tickets.id,
                amount_fen=4500,
                idempotency_key="b",
                at=NOON,
            )
    assert list((await counters(engine, tickets.id)).values()) == [2]


async def test_two_clamps_settle_on_the_smaller(engine: AsyncEngine) -> None:
    p = await published(
        engine,
        benefit={"kind": "amount_off", "off_fen": 1000, "funded_by": "federation"},
        limits=[
            {
                "key": "mine",
                "metric": "amount",
                "scope": "member",
                "period": "month",
                "limit": 5000,
                "on_exceed": "clamp",
            },
            {
                "key": "budget",
                "metric": "amount",
                "scope": "program",
                "period": "month",
                "limit": 1300,
                "on_exceed": "clamp",
            },
        ],
    )
    m, shop = member(), merchant()
    async with engine.connect() as conn:
        a = await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=5000,
            idempotency_key="a",
            at=NOON,
        )
        b = await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=5000,
            idempotency_key="b",
            at=NOON,
        )
    assert (a.discount_fen, b.discount_fen) == (1000, 300)
    # The member's own counter was charged only the 300 the budget allowed, not 1000.
    assert await counters(engine, p.id) == {
        ("mine", f"m:{m.id.hex}", "M2025-06"): 1300,
        ("budget", "p", "M2025-06"): 1300,
    }


async def test_stacking(engine: AsyncEngine) -> None:
    exclusive = await published(engine, code="EXCL")
    ten = await published(
        engine, code="TEN", stacking={"mode": "group", "group": "dining"}, priority=10
    )
    five_yuan = await published(
        engine,
        code="FIVE",
        stacking={"mode": "group", "group": "dining"},
        priority=1,
        benefit={"kind": "amount_off", "off_fen": 500},
    )
    other_group = await published(engine, code="OTHERG", stacking={"mode": "group", "group": "x"})
    m, shop = member(), merchant()
    async with engine.connect() as conn:
        for ids in ([exclusive.id, ten.id], [ten.id, other_group.id]):
            with pytest.raises(StackingConflict) as info:
                await redeem(
                    conn,
                    member=m,
                    merchant=shop,
                    program_ids=ids,
                    amount_fen=10_000,
                    idempotency_key=uuid.uuid4().hex,
                    at=NOON,
                )
            assert info.value.code == "stacking_conflict"
        # Highest priority first, each on what is still payable: 10 % of 100, then ¥5 off.
        r = await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=[five_yuan.id, ten.id],
            amount_fen=10_000,
            idempotency_key="s",
            at=NOON,
        )
        assert [line.program_code for line in r.lines] == ["TEN", "FIVE"]
        assert [(ln.amount_fen, ln.discount_fen) for ln in r.lines] == [(10_000, 1000), (9000, 500)]
        assert (r.discount_fen, r.payable_fen) == (1500, 8500)
        again = await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=[ten.id, five_yuan.id],
            amount_fen=10_000,
            idempotency_key="s",
            at=NOON,
        )
        assert again.replayed and again.redemption_id == r.redemption_id
        await reverse(conn, redemption_id=r.redemption_id, merchant_id=shop.merchant_id)
    rows = await ledger(engine)
    assert len(rows) == 2 and all(row.reversal_id is not None for row in rows)


async def test_reverse_restores_exactly_once(engine: AsyncEngine) -> None:
    p = await published(
        engine,
        benefit={"kind": "amount_off", "off_fen": 300},
        limits=[
            DAILY,
            {
                "key": "budget",
                "metric": "amount",
                "scope": "program",
                "period": "month",
                "limit": 1000,
            },
        ],
    )
    m, shop = member(), merchant()
    async with engine.connect() as conn:
        r = await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=1000,
            idempotency_key="a",
            at=NOON,
        )
        assert set((await counters(engine, p.id)).values()) == {1, 300}
        with pytest.raises(NotFound):
            await reverse(conn, redemption_id=r.redemption_id, merchant_id=uuid.uuid4())
        done = await reverse(
            conn,
            redemption_id=r.redemption_id,
            merchant_id=shop.merchant_id,
            reason="收银员输错",
            at=NOON + timedelta(minutes=1),
        )
        assert {x["n"] for x in done.restored} == {1, 300}
        assert set((await counters(engine, p.id)).values()) == {0}
        with pytest.raises(AlreadyReversed) as info:
            await reverse(conn, redemption_id=r.redemption_id, merchant_id=shop.merchant_id)
        assert info.value.status == 409
        assert set((await counters(engine, p.id)).values()) == {0}
        # The quota is free again; a replay of the old key says it was reversed.
        again = await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=1000,
            idempotency_key="a",
            at=NOON,
        )
        assert again.replayed and again.reversed
        await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=1000,
            idempotency_key="b",
            at=NOON,
        )
        with pytest.raises(NotFound):
            await reverse(conn, redemption_id=uuid.uuid4())


async def test_a_token_is_used_once(engine: AsyncEngine) -> None:
    p = await published(engine)
    shop = merchant()
    async with engine.connect() as conn:
        await redeem(
            conn,
            member=member(),
            merchant=shop,
            program_ids=p.id,
            amount_fen=100,
            idempotency_key="a",
            token_id="TOKEN-1",
            at=NOON,
        )
        with pytest.raises(TokenReplayed):
            await redeem(
                conn,
                member=member(),
                merchant=shop,
                program_ids=p.id,
                amount_fen=100,
                idempotency_key="b",
                token_id="TOKEN-1",
                at=NOON,
            )
    assert len(await ledger(engine, p.id)) == 1


async def test_raising_a_limit_in_a_new_version_applies_to_this_period(engine: AsyncEngine) -> None:
    p = await published(engine, limits=[DAILY])
    m, shop = member(), merchant()
    async with engine.connect() as conn:
        await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=100,
            idempotency_key="a",
            at=NOON,
        )
        with pytest.raises(QuotaExhausted):
            await redeem(
                conn,
                member=m,
                merchant=shop,
                program_ids=p.id,
                amount_fen=100,
                idempotency_key="b",
                at=NOON,
            )
        await update_program(conn, program_id=p.id, rules=rules(limits=[{**DAILY, "limit": 2}]))
        await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=100,
            idempotency_key="b",
            at=NOON,
        )
        with pytest.raises(QuotaExhausted):
            await redeem(
                conn,
                member=m,
                merchant=shop,
                program_ids=p.id,
                amount_fen=100,
                idempotency_key="c",
                at=NOON,
            )
    c = all_counters()
    async with engine.connect() as conn:
        row = (await conn.execute(c.select().where(c.c.program_id == p.id))).one()
    assert (row.used, row.limit) == (2, 2)


async def test_inside_a_callers_transaction_a_refusal_undoes_only_the_engines_work(
    engine: AsyncEngine,
) -> None:
    p = await published(
        engine,
        benefit={"kind": "amount_off", "off_fen": 100},
        limits=[
            DAILY,
            {
                "key": "budget",
                "metric": "amount",
                "scope": "program",
                "period": "month",
                "limit": 150,
            },
        ],
    )
    m, shop = member(), merchant()
    async with make_sessionmaker(engine)() as session:
        await session.execute(text("SELECT 1"))  # the caller's transaction is open
        r = await redeem(
            session,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=500,
            idempotency_key="a",
            at=NOON,
        )
        assert session.in_transaction()
        with pytest.raises(BudgetExhausted):
            # The member counter is charged before the budget refuses; the savepoint undoes it.
            await redeem(
                session,
                member=member(),
                merchant=shop,
                program_ids=p.id,
                amount_fen=500,
                idempotency_key="b",
                at=NOON,
            )
        assert session.in_transaction()
        await session.commit()
    assert r.discount_fen == 100
    assert sorted((await counters(engine, p.id)).values()) == [1, 100]
    assert len(await ledger(engine, p.id)) == 1


async def test_nothing_is_committed_when_the_caller_rolls_back(engine: AsyncEngine) -> None:
    p = await published(engine, limits=[DAILY])
    async with make_sessionmaker(engine)() as session:
        await session.execute(text("SELECT 1"))
        await redeem(
            session,
            member=member(),
            merchant=merchant(),
            program_ids=p.id,
            amount_fen=500,
            idempotency_key="a",
            at=NOON,
        )
        await session.rollback()
    assert await ledger(engine, p.id) == [] and await counters(engine, p.id) == {}


async def test_quote_matches_what_redeem_does(engine: AsyncEngine) -> None:
    dining = await published(
        engine,
        code="DINE",
        limits=[DAILY],
        priority=5,
        benefit={"kind": "percent_off", "basis_points": 1000, "cap_fen": 3000},
    )
    await published(engine, code="CINEMA", scope={"merchant_categories": ["cinema"]})
    await published(engine, code="HARDSHIP", eligibility={"categories_any": ["hardship"]})
    m, shop = member(), merchant()
    async with engine.connect() as conn:
        q = await quote(conn, member=m, merchant=shop, amount_fen=50_000, at=NOON)
        assert [a.code for a in q.applicable] == ["DINE"]
        a = q.applicable[0]
        assert (a.discount_fen, a.payable_fen, a.clamped) == (3000, 47_000, False)
        assert [(s.policy, s.remaining_before, s.take, s.remaining_after) for s in a.limits] == [
            ("daily", 1, 1, 0)
        ]
        refused = {r.code: r for r in q.not_applicable}
        assert refused["CINEMA"].error_code == "not_in_scope"
        assert refused["HARDSHIP"].error_code == "not_eligible"
        assert refused["HARDSHIP"].reasons[0].code == "category_missing"
        r = await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=dining.id,
            amount_fen=50_000,
            idempotency_key="q",
            at=NOON,
        )
        assert r.discount_fen == a.discount_fen
        after = await quote(conn, member=m, merchant=shop, amount_fen=50_000, at=NOON)
        assert after.applicable == ()
        assert {r.code: r.error_code for r in after.not_applicable}["DINE"] == "quota_exhausted"


async def test_a_fresh_session_gets_a_committed_redemption_and_stays_usable(
    engine: AsyncEngine,
) -> None:
    # With no transaction open the engine runs its own (on PostgreSQL straight through asyncpg).
    p = await published(engine, limits=[DAILY])
    m, shop = member(), merchant()
    async with make_sessionmaker(engine)() as session:
        r = await redeem(
            session,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=500,
            idempotency_key="a",
            at=NOON,
        )
        assert not session.in_transaction()
        with pytest.raises(QuotaExhausted):
            await redeem(
                session,
                member=m,
                merchant=shop,
                program_ids=p.id,
                amount_fen=500,
                idempotency_key="b",
                at=NOON,
            )
        assert not session.in_transaction()
        again = await redeem(
            session,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=500,
            idempotency_key="a",
            at=NOON,
        )
        assert again.replayed and again.redemption_id == r.redemption_id
        assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
    assert len(await ledger(engine, p.id)) == 1  # committed: visible on another connection
    assert list((await counters(engine, p.id)).values()) == [1]
