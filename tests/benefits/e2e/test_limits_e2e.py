"""Limits, end to end: every metric × scope × on_exceed, every period and the programme's time
zone, set by staff through the API and spent at tills through the terminal API.

Each case spends a policy at one till by one member, then asks who else may still use the
programme: the same member elsewhere, and another member here. Periods are checked at their
local boundaries by setting the till's clock (a printed card's code stays valid for years).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from benefits.rules.periods import Period
from benefits.rules.programme import LimitScope, Metric, OnExceed
from tests.benefits.e2e.steps import just_before, local_instant, verdict
from tests.support.front import Front, Shop

TEN_PCT = {"kind": "percent_off", "basis_points": 1000}

# metric, on_exceed: the spending steps (amount_fen, units, expected units or discount, or None
# for refused) that use the policy up.
SPEND: dict[tuple[Metric, OnExceed], list[tuple[int, int, int | None]]] = {
    # limit 2 redemptions
    (Metric.count, OnExceed.reject): [(10000, 1, 1), (10000, 1, 1), (10000, 1, None)],
    # limit 3 units: 2, then 2 is refused, 1 fits, then nothing
    (Metric.units, OnExceed.reject): [(10000, 2, 2), (10000, 2, None), (5000, 1, 1), (1, 1, None)],
    # limit 3 units: 2, then 2 granted as 1 (the bill prorated), then nothing
    (Metric.units, OnExceed.clamp): [(10000, 2, 2), (10000, 2, 1), (5000, 1, None)],
    # limit 1500 fen of benefit value: 1000, then 1000 is refused, 500 fits, then nothing
    (Metric.amount, OnExceed.reject): [
        (10000, 1, 1000),
        (10000, 1, None),
        (5000, 1, 500),
        (10, 1, None),
    ],
    # limit 1500 fen: 1000, then 1000 granted as 500, then nothing
    (Metric.amount, OnExceed.clamp): [(10000, 1, 1000), (10000, 1, 500), (10000, 1, None)],
}
LIMIT = {Metric.count: 2, Metric.units: 3, Metric.amount: 1500}


COVERS = (
    {f"limit.{m.value}.{s.value}.{o.value}" for m, o in SPEND for s in LimitScope}
    | {f"limit.period.{p.value}" for p in Period}
    | {"timezone"}
)


def _got(metric: Metric, done: dict[str, Any]) -> int:
    return int(done["discount_fen"] if metric is Metric.amount else done["units"])  # count: 1


def _refusal(metric: Metric, scope: LimitScope) -> str:
    return (
        "budget_exhausted"
        if (metric, scope) == (Metric.amount, LimitScope.program)
        else ("quota_exhausted")
    )


@pytest.mark.parametrize(("metric", "on_exceed"), list(SPEND), ids=[f"{m}-{o}" for m, o in SPEND])
async def test_limit(front: Front, metric: Metric, on_exceed: OnExceed) -> None:
    """One programme per limit scope, each spent by one member at one till."""
    org = await front.grassroots("HB-YC-XL")
    here, elsewhere = await front.shop(), await front.shop()
    me, other = await front.member(org), await front.member(org)
    mine, theirs = await front.static_code(me), await front.static_code(other)
    for scope in LimitScope:
        policy = {
            "metric": metric.value,
            "scope": scope.value,
            "period": "month",
            "limit": LIMIT[metric],
            "on_exceed": on_exceed.value,
        }
        prog = await front.program(front.orgs["HB"], benefit=TEN_PCT, limits=[policy])
        refusal = _refusal(metric, scope)
        for amount, units, expected in SPEND[metric, on_exceed]:
            if expected is None:
                assert await verdict(front, here, mine, prog, amount, units) == refusal, scope
                continue
            offered = await front.offered(here, mine, amount, units)
            status, done = await front.redeem(here, mine, prog, amount, units)
            assert status == 201, done
            assert _got(metric, done) == expected, scope
            assert _got(metric, offered[prog["id"]]["benefit"]) == expected, scope
        # Who may still use it: the same member at another merchant, another member here.
        per_member = scope in (LimitScope.member, LimitScope.member_merchant)
        per_merchant = scope in (LimitScope.merchant, LimitScope.member_merchant)
        assert await verdict(front, elsewhere, mine, prog) == ("ok" if per_merchant else refusal)
        assert await verdict(front, here, theirs, prog) == ("ok" if per_member else refusal)


def _next_period_start(period: Period, day: date) -> date | None:
    if period is Period.day:
        return day + timedelta(days=1)
    if period is Period.week:
        return day + timedelta(days=7 - day.weekday())
    if period is Period.month:
        return (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    if period is Period.year:
        return date(day.year + 1, 1, 1)
    return None


# Every period in the default zone; the zone moves every boundary alike, one period shows it.
PERIOD_CASES = [(p, "Asia/Shanghai") for p in Period] + [(Period.day, "Europe/London")]


@pytest.mark.parametrize(("period", "zone_name"), PERIOD_CASES)
async def test_period(front: Front, period: Period, zone_name: str) -> None:
    """One redemption per period: refused until the period's local start, then allowed again
    (a lifetime limit never renews). The boundary is in the programme's time zone."""
    zone = ZoneInfo(zone_name)
    shop = await front.shop()
    who = await front.member(await front.grassroots("HB-YC-XL"))
    code = await front.static_code(who)
    policy = {"metric": "count", "scope": "member", "period": period.value, "limit": 1}
    prog = await front.program(front.orgs["HB"], timezone=zone_name, limits=[policy])
    start = datetime.now(UTC) + timedelta(minutes=1)
    front.set_clock(start)
    assert await verdict(front, shop, code, prog) == "ok"
    assert await verdict(front, shop, code, prog) == "quota_exhausted"
    nxt = _next_period_start(period, start.astimezone(zone).date())
    if nxt is None:
        front.set_clock(start + timedelta(days=800))
        assert await verdict(front, shop, code, prog) == "quota_exhausted"
        return
    edge = local_instant(nxt, time(0, 0), zone)
    front.set_clock(just_before(edge))
    assert await verdict(front, shop, code, prog) == "quota_exhausted"
    front.set_clock(edge)
    assert await verdict(front, shop, code, prog) == "ok"
    assert await verdict(front, shop, code, prog) == "quota_exhausted"


async def test_policies_combine(front: Front) -> None:
    """Several policies at once: the tightest refuses; a budget shared by every member ends
    the programme for all once spent."""
    org = await front.grassroots("HB-YC-XL")
    shop: Shop = await front.shop()
    a, b = await front.member(org), await front.member(org)
    ca, cb = await front.static_code(a), await front.static_code(b)
    prog = await front.program(
        front.orgs["HB"],
        benefit=TEN_PCT,
        limits=[
            {"metric": "count", "scope": "member", "period": "day", "limit": 5},
            {"metric": "amount", "scope": "member", "period": "month", "limit": 1500},
            {"metric": "amount", "scope": "program", "period": "lifetime", "limit": 2500},
        ],
    )
    assert await verdict(front, shop, ca, prog) == "ok"  # a 1000, budget 1000
    assert await verdict(front, shop, ca, prog) == "quota_exhausted"  # a's 1500 a month
    assert await verdict(front, shop, cb, prog) == "ok"  # b 1000, budget 2000
    assert await verdict(front, shop, cb, prog) == "quota_exhausted"
    assert await verdict(front, shop, cb, prog, 5000) == "ok"  # b 1500, budget 2500: spent
    assert await verdict(front, shop, ca, prog, 1000) == "budget_exhausted"  # a has 400 left
