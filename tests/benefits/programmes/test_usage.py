"""Usage, member view, simulation, ledger lists, settlement and reconciliation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.models import Counter, MemberCounter
from benefits.public import (
    create_program,
    list_redemptions,
    member_benefits,
    merchant_settlement,
    pause_program,
    program_usage,
    quote,
    reconcile,
    redact_for_merchant,
    redeem,
    reverse,
    simulate,
)
from tests.benefits.conftest import (
    CITY,
    CITY_PATH,
    NOON,
    OTHER_PATH,
    counters,
    member,
    merchant,
    published,
    rules,
)

CINEMA: dict[str, Any] = {
    "name": "观影补贴",
    "scope": {"merchant_categories": ["cinema"]},
    "benefit": {"kind": "subsidy", "per_unit_fen": 2000},
    "limits": [
        {"key": "monthly", "metric": "units", "scope": "member", "period": "month", "limit": 2},
        {
            "key": "per_cinema",
            "metric": "count",
            "scope": "member_merchant",
            "period": "day",
            "limit": 1,
        },
        {
            "key": "budget",
            "metric": "amount",
            "scope": "program",
            "period": "year",
            "limit": 1_000_000,
        },
    ],
}


async def test_usage_counts_this_period_and_the_ledger(engine: AsyncEngine) -> None:
    p = await published(engine, **CINEMA)
    cinema = merchant(category="cinema")
    a, b = member(), member()
    async with engine.connect() as conn:
        r = await redeem(
            conn,
            member=a,
            merchant=cinema,
            program_ids=p.id,
            amount_fen=9000,
            units=2,
            idempotency_key="1",
            at=NOON,
        )
        await redeem(
            conn,
            member=b,
            merchant=cinema,
            program_ids=p.id,
            amount_fen=4500,
            idempotency_key="2",
            at=NOON,
        )
        await redeem(
            conn,
            member=b,
            merchant=cinema,
            program_ids=p.id,
            amount_fen=4500,
            idempotency_key="3",
            at=NOON - timedelta(days=40),
        )  # an earlier month
        await reverse(conn, redemption_id=r.redemption_id, merchant_id=cinema.merchant_id)
        await redeem(
            conn,
            member=a,
            merchant=cinema,
            program_ids=p.id,
            amount_fen=4500,
            idempotency_key="4",
            at=NOON + timedelta(days=1),
        )
        usage = await program_usage(conn, program_id=p.id, at=NOON + timedelta(days=1))
    by = {u.policy: u for u in usage.policies}
    assert (by["monthly"].counters, by["monthly"].used_total, by["monthly"].used_max) == (2, 2, 1)
    assert by["monthly"].remaining is None  # per member: no single figure
    assert (by["budget"].used_total, by["budget"].remaining) == (6000, 1_000_000 - 6000)
    assert (usage.budget_limit_fen, usage.budget_spent_fen) == (1_000_000, 6000)
    assert (usage.redemptions, usage.reversed) == (3, 1)
    assert (usage.discount_fen, usage.subsidy_fen, usage.units) == (6000, 6000, 3)


async def test_member_view_shows_what_is_left(engine: AsyncEngine) -> None:
    p = await published(engine, code="CINEMA", **CINEMA)
    await published(engine, code="HARD", eligibility={"categories_any": ["hardship"]})
    await published(engine, code="ELSEWHERE", owner_path=OTHER_PATH)
    m, cinema = member(), merchant(category="cinema")
    async with engine.connect() as conn:
        before = await member_benefits(conn, member=m, at=NOON)
        assert [b.code for b in before] == ["CINEMA"]
        await redeem(
            conn,
            member=m,
            merchant=cinema,
            program_ids=p.id,
            amount_fen=9000,
            units=2,
            idempotency_key="1",
            at=NOON,
        )
        after = (await member_benefits(conn, member=m, at=NOON))[0]
        left = {s.policy: s.remaining_before for s in after.limits}
        assert left == {"monthly": 0, "per_cinema": None, "budget": 1_000_000 - 4000}
        assert not after.usable_now
        assert after.benefit == {"kind": "subsidy", "per_unit_fen": 2000}
        next_month = (await member_benefits(conn, member=m, at=NOON + timedelta(days=30)))[0]
        assert next_month.usable_now
        await pause_program(conn, program_id=p.id)
        assert await member_benefits(conn, member=m, at=NOON) == []


async def test_simulate_previews_drafts_for_sample_members(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        draft = await create_program(
            conn,
            code="DRAFT-HARD",
            owner_org_id=CITY,
            owner_org_path=CITY_PATH,
            rules=rules(
                eligibility={"categories_any": ["hardship"], "hardship_levels": [1]},
                benefit={"kind": "amount_off", "off_fen": 2000},
            ),
        )
        poor = member(categories={"hardship"}, hardship_level=1)
        other = member()
        results = await simulate(
            conn,
            members=[poor, other],
            merchant=merchant(),
            amount_fen=5000,
            program_ids=[draft.id],
            at=NOON,
        )
        assert [q.applicable[0].discount_fen for q in results[:1]] == [2000]
        assert results[0].applicable[0].status == "draft"
        assert results[1].applicable == ()
        assert results[1].not_applicable[0].error_code == "not_eligible"
        # Nothing was written, and members still cannot redeem a draft.
        assert await counters(engine, draft.id) == {}
        q = await quote(conn, member=poor, merchant=merchant(), amount_fen=5000, at=NOON)
        assert q.applicable == ()
        # Without program_ids, a member's candidates are their org's programmes.
        again = await simulate(conn, members=[poor], merchant=merchant(), amount_fen=5000, at=NOON)
        assert [a.code for a in again[0].applicable] == ["DRAFT-HARD"]


async def test_merchants_do_not_see_why_a_member_is_not_eligible(engine: AsyncEngine) -> None:
    await published(engine, code="HARD", eligibility={"categories_any": ["hardship"]})
    await published(engine, code="CINEMA", **CINEMA)
    async with engine.connect() as conn:
        q = await quote(conn, member=member(), merchant=merchant(), amount_fen=5000, at=NOON)
    shown = {r.code: r for r in redact_for_merchant(q).not_applicable}
    assert [x.code for x in shown["HARD"].reasons] == ["not_eligible"]
    assert [x.code for x in shown["CINEMA"].reasons] == ["merchant_category_not_listed"]


async def test_ledger_lists_and_settlement(engine: AsyncEngine) -> None:
    p = await published(engine, **CINEMA)
    cinema, other = merchant(category="cinema"), merchant(category="cinema")
    m = member()
    async with engine.connect() as conn:
        r1 = await redeem(
            conn,
            member=m,
            merchant=cinema,
            program_ids=p.id,
            amount_fen=4500,
            idempotency_key="1",
            at=NOON,
        )
        await redeem(
            conn,
            member=m,
            merchant=cinema,
            program_ids=p.id,
            amount_fen=1500,
            idempotency_key="2",
            at=NOON + timedelta(days=1),
        )
        await redeem(
            conn,
            member=member(),
            merchant=other,
            program_ids=p.id,
            amount_fen=4500,
            idempotency_key="1",
            at=NOON,
        )
        await reverse(conn, redemption_id=r1.redemption_id, merchant_id=cinema.merchant_id)
        mine = await list_redemptions(conn, merchant_id=cinema.merchant_id)
        assert [x.amount_fen for x in mine] == [1500, 4500]  # newest first
        assert mine[1].reversed_at is not None and mine[0].reversed_at is None
        assert len(await list_redemptions(conn, member_id=m.id)) == 2
        assert (
            len(await list_redemptions(conn, program_id=p.id, since=NOON + timedelta(hours=1))) == 1
        )
        statement = await merchant_settlement(
            conn,
            merchant_id=cinema.merchant_id,
            since=datetime(2025, 6, 1, tzinfo=UTC),
            until=datetime(2025, 7, 1, tzinfo=UTC),
        )
    assert [(s.redemptions, s.units, s.discount_fen, s.subsidy_fen) for s in statement] == [
        (1, 1, 1500, 1500)
    ]


async def test_reconcile_reports_and_repairs_drift(engine: AsyncEngine) -> None:
    p = await published(engine, **CINEMA)
    cinema, m = merchant(category="cinema"), member()
    async with engine.connect() as conn:
        await redeem(
            conn,
            member=m,
            merchant=cinema,
            program_ids=p.id,
            amount_fen=4500,
            idempotency_key="1",
            at=NOON,
        )
        assert (await reconcile(conn, fix=False)).ok
    c, mc = cast(Table, Counter.__table__), cast(Table, MemberCounter.__table__)
    async with engine.begin() as conn:  # simulate a counter damaged by hand
        await conn.execute(update(mc).where(mc.c.policy_key == "monthly").values(used=7))
        await conn.execute(c.delete().where(c.c.policy_key == "budget"))
    async with engine.connect() as conn:
        report = await reconcile(conn, fix=False)
        assert not report.ok and report.redemptions_read == 1
        assert {(d.policy, d.counter_used, d.ledger_used) for d in report.drifts} == {
            ("monthly", 7, 1),
            ("budget", 0, 2000),
        }
        assert (await reconcile(conn, fix=False)).drifts == report.drifts  # nothing changed
        fixed = await reconcile(conn, program_id=p.id)
        assert fixed.fixed and len(fixed.drifts) == 2
        assert (await reconcile(conn, fix=False)).ok
    assert set((await counters(engine, p.id)).values()) == {1, 2000}


async def test_reconcile_scoped_to_one_programme(engine: AsyncEngine) -> None:
    p = await published(engine, **CINEMA)
    async with engine.connect() as conn:
        report = await reconcile(conn, program_id=uuid.uuid4())
        assert report.ok and report.counters_checked == 0
        await redeem(
            conn,
            member=member(),
            merchant=merchant(category="cinema"),
            program_ids=p.id,
            amount_fen=100,
            idempotency_key="1",
            at=NOON,
        )
        assert (await reconcile(conn, program_id=p.id)).counters_checked == 3
