"""A member's own counters live in ``benefit_member_counter`` with their member's id; the
counters shared by members in ``benefit_counter``. Charged, refused, clamped, given back and
reconciled there, on SQLite and PostgreSQL, by every path of ``redeem`` (one programme, two
programmes at once, a clamp)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.errors import QuotaExhausted
from benefits.models import Counter, MemberCounter
from benefits.public import quote, reconcile, redeem, reverse
from tests.benefits.conftest import NOON, member, merchant, published

LIMITS = [
    {"key": "mine", "metric": "count", "scope": "member", "period": "day", "limit": 2},
    {"key": "here", "metric": "count", "scope": "member_merchant", "period": "day", "limit": 1},
    {"key": "cap", "metric": "count", "scope": "merchant", "period": "day", "limit": 9},
    {"key": "budget", "metric": "amount", "scope": "program", "period": "month", "limit": 10**6},
]
OFF = {"kind": "amount_off", "off_fen": 100}


async def _tables(engine: AsyncEngine) -> tuple[set[Any], set[Any]]:
    c, mc = cast(Table, Counter.__table__), cast(Table, MemberCounter.__table__)
    async with engine.connect() as conn:
        shared = {tuple(r) for r in await conn.execute(select(c.c.policy_key, c.c.used))}
        own = await conn.execute(select(mc.c.policy_key, mc.c.member_id, mc.c.scope_key, mc.c.used))
        return shared, {tuple(r) for r in own}


@pytest.mark.parametrize("together", [False, True], ids=["one", "two_programmes"])
async def test_member_counters_are_charged_in_their_own_table(
    engine: AsyncEngine, together: bool
) -> None:
    group = {"mode": "group", "group": "dining"}
    p = await published(engine, benefit=OFF, limits=LIMITS, stacking=group)
    other = await published(engine, benefit=OFF, limits=[], stacking=group)
    ids = [p.id, other.id] if together else p.id
    m, shop = member(), merchant()
    kw: dict[str, Any] = {"member": m, "merchant": shop, "program_ids": ids, "amount_fen": 1000}
    async with engine.connect() as conn:
        first = await redeem(conn, idempotency_key="a", at=NOON, **kw)
        with pytest.raises(QuotaExhausted):  # the member's limit at this merchant: 1 a day
            await redeem(conn, idempotency_key="b", at=NOON, **kw)
    shared, own = await _tables(engine)
    assert shared == {("cap", 1), ("budget", 100)}
    assert own == {
        ("mine", m.id, f"m:{m.id.hex}", 1),
        ("here", m.id, f"mx:{m.id.hex}:{shop.merchant_id.hex}", 1),
    }
    async with engine.connect() as conn:  # elsewhere: one of the member's two left, a fresh "here"
        q = await quote(
            conn, member=m, merchant=merchant(), amount_fen=1000, program_ids=[p.id], at=NOON
        )
        left = {s.policy: s.remaining_before for o in q.applicable for s in o.limits}
        assert (left["mine"], left["here"]) == (1, 1)
        await reverse(conn, redemption_id=first.redemption_id, merchant_id=shop.merchant_id)
        assert (await reconcile(conn, fix=False)).ok
    shared, own = await _tables(engine)
    assert shared == {("cap", 0), ("budget", 0)}
    assert {(r[0], r[3]) for r in own} == {("mine", 0), ("here", 0)}


async def test_a_clamped_member_counter_and_its_rebuild_by_reconciliation(
    engine: AsyncEngine,
) -> None:
    clamp = {"key": "units", "metric": "units", "scope": "member", "period": "month"}
    p = await published(
        engine,
        scope={"merchant_categories": ["cinema"]},
        benefit={"kind": "subsidy", "per_unit_fen": 2000},
        limits=[{**clamp, "limit": 3, "on_exceed": "clamp"}],
    )
    m, shop = member(), merchant(category="cinema")
    kw: dict[str, Any] = {"member": m, "merchant": shop, "program_ids": p.id, "amount_fen": 9000}
    async with engine.connect() as conn:
        await redeem(conn, idempotency_key="a", at=NOON, units=2, **kw)
        r = await redeem(conn, idempotency_key="b", at=NOON, units=2, **kw)
    assert r.lines[0].units == 1  # clamped to what was left
    mc = cast(Table, MemberCounter.__table__)
    async with engine.begin() as conn:
        await conn.execute(mc.delete())
    async with engine.connect() as conn:
        report = await reconcile(conn, fix=True)
    assert [(d.scope_key, d.counter_used, d.ledger_used) for d in report.drifts] == [
        (f"m:{m.id.hex}", 0, 3)
    ]
    assert (await _tables(engine))[1] == {("units", m.id, f"m:{m.id.hex}", 3)}
