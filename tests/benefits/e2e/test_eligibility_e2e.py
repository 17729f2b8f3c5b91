"""Who may use a programme, end to end: each eligibility field set by staff through the API,
checked at a till against members registered through the API, at the edges of each rule.

Days are the programme's local days (Asia/Shanghai): the till's clock is set to just before
and just after local midnight, where a UTC date would give the wrong answer.
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest

import cardsvc.members.service as member_service
import cardsvc.membership.service as membership_service
from tests.benefits.e2e.steps import (
    SHANGHAI,
    just_before,
    local_instant,
    today_local,
    verdict,
)
from tests.support.front import Front, years_before

# The matrix's share of the rules (tests/benefits/e2e/test_matrix_coverage.py checks it).
COVERS = {
    "eligibility.min_tenure_days",
    "eligibility.min_age",
    "eligibility.max_age",
    "owner_org_id",
    "member.status",
}


async def test_owner_org_subtree(front: Front) -> None:
    """A programme of a district union: its members use it, another district's do not."""
    shop = await front.shop()
    xl = await front.member(await front.grassroots("HB-YC-XL"))
    wjg = await front.member(await front.grassroots("HB-YC-WJG"))
    prog = await front.program(front.orgs["HB-YC-XL"])
    assert await verdict(front, shop, await front.static_code(xl), prog) == "ok"
    assert await verdict(front, shop, await front.static_code(wjg), prog) == "not_eligible"
    assert prog["id"] in await front.my_benefits(xl)  # what the member's page shows
    assert prog["id"] not in await front.my_benefits(wjg)


async def test_member_status(front: Front) -> None:
    """A suspended member is refused at the scan itself; resumed, they are offered again."""
    shop = await front.shop()
    who = await front.member(await front.grassroots("HB-YC-XL"))
    prog = await front.program(front.orgs["HB"])
    code = await front.static_code(who)
    await front.set_status(who, "suspended")
    r = await front.client.post("/api/v1/scans", json={"code": code}, headers=shop.headers)
    assert r.status_code in (403, 409) and r.json()["code"] in ("member_inactive", "card_suspended")
    await front.set_status(who, "active")
    assert await verdict(front, shop, code, prog) == "ok"


@pytest.mark.parametrize("online", [False, True], ids=["registered", "joined_online"])
@pytest.mark.parametrize("joined_at", [time(0, 30), time(23, 30)], ids=["after_0h", "before_24h"])
async def test_min_tenure_days(
    front: Front, monkeypatch: pytest.MonkeyPatch, joined_at: time, online: bool
) -> None:
    """``min_tenure_days`` counts local days since joining: 30 days after a member joins
    (registered by staff, or approved online, early or late in the local day) they qualify
    from local midnight on."""
    shop = await front.shop()
    joined = today_local() - timedelta(days=1)
    at = local_instant(joined, joined_at)
    org = await front.grassroots("HB-YC-XL")
    # Registered, or approved, at that moment.
    monkeypatch.setattr(member_service, "utc_now", lambda: at)
    monkeypatch.setattr(membership_service, "utc_now", lambda: at)
    who = await (front.join_online(org) if online else front.member(org))
    monkeypatch.undo()
    r = await front.client.get(f"/api/v1/members/{who.id}")
    assert r.json()["joined_on"] == joined.isoformat()  # the local day, not the UTC one
    none = await front.program(front.orgs["HB"], eligibility={"min_tenure_days": 0})
    prog = await front.program(front.orgs["HB"], eligibility={"min_tenure_days": 30})
    code = await front.static_code(who)
    assert await verdict(front, shop, code, none) == "ok"
    assert await verdict(front, shop, code, prog) == "not_eligible"
    mine = await front.my_benefits(who)
    assert none["id"] in mine and prog["id"] not in mine
    qualifies = local_instant(joined + timedelta(days=30), time(0, 0))
    front.set_clock(just_before(qualifies))
    assert await verdict(front, shop, code, prog) == "not_eligible"
    front.set_clock(qualifies)
    assert await verdict(front, shop, code, prog) == "ok"


# (rule, years before the birthday, verdict just before local midnight, just after)
AGE_CASES: list[tuple[dict[str, Any], int, str, str]] = [
    ({"min_age": 18}, 18, "not_eligible", "ok"),  # 18th birthday at midnight
    ({"max_age": 60}, 61, "ok", "not_eligible"),  # 61st birthday at midnight: too old
    ({"min_age": 18, "max_age": 60}, 18, "not_eligible", "ok"),
    ({"min_age": 18, "max_age": 60}, 61, "ok", "not_eligible"),
    ({"min_age": 18, "max_age": 60}, 40, "ok", "ok"),
]


async def test_age_range(front: Front) -> None:
    """Ages in whole years on the local date, bounds inclusive: the birthday's local midnight
    is the edge (the birth date comes from the ID number staff registered)."""
    shop = await front.shop()
    birthday = today_local() + timedelta(days=2)
    org = await front.grassroots("HB-YC-XL")
    members = {
        years: await front.static_code(await front.member(org, born=years_before(birthday, years)))
        for years in {c[1] for c in AGE_CASES}
    }
    programs = [await front.program(front.orgs["HB"], eligibility=c[0]) for c in AGE_CASES]
    edge = local_instant(birthday, time(0, 0), SHANGHAI)
    for instant, column in ((just_before(edge), 2), (edge, 3)):
        front.set_clock(instant)
        pairs = zip(AGE_CASES, programs, strict=True)
        got = [await verdict(front, shop, members[c[1]], p) for c, p in pairs]
        assert got == [c[column] for c in AGE_CASES], instant
