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
    judged,
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
    "eligibility.org_ids",
    "eligibility.regions",
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


async def test_org_ids_subtree(front: Front) -> None:
    """``org_ids``: the member's union is listed or lies under a listed org; a transfer moves
    the member's eligibility with them, their region stays where they live."""
    shop = await front.shop()
    xl_a, xl_b = await front.grassroots("HB-YC-XL"), await front.grassroots("HB-YC-XL", 1)
    wjg = await front.grassroots("HB-YC-WJG")
    a, b, w = await front.member(xl_a), await front.member(xl_b), await front.member(wjg)
    hb, xl = front.orgs["HB"], front.orgs["HB-YC-XL"]
    union_only = await front.program(hb, eligibility={"org_ids": [xl_a]})
    district = await front.program(hb, eligibility={"org_ids": [xl]})
    mixed = await front.program(hb, eligibility={"org_ids": [xl_a, front.orgs["HB-YC-WJG"]]})
    # Listed but outside the owner's subtree: the owner's subtree still bounds who may use it.
    narrowed = await front.program(xl, eligibility={"org_ids": [xl_a, front.orgs["HB-YC-WJG"]]})
    no = "not_eligible/org_not_listed"
    cases = [
        (union_only, ["ok", no, no]),
        (district, ["ok", "ok", no]),
        (mixed, ["ok", no, "ok"]),
        (narrowed, ["ok", no, "not_eligible/outside_org"]),
    ]
    for prog, expected in cases:
        got = [await judged(front, shop, who, prog) for who in (a, b, w)]
        assert got == expected, prog["rules"]["eligibility"]
    assert union_only["id"] in await front.my_benefits(a)
    assert union_only["id"] not in await front.my_benefits(b)
    # ``a`` moves to the other union of the district: the union's programme goes, the
    # district's stays, and a programme of where ``a`` lives still applies.
    here = await front.program(hb, eligibility={"regions": ["420502"]})
    await front.transfer(a, xl_b)
    assert [await judged(front, shop, a, p) for p in (union_only, district, here)] == [
        no,
        "ok",
        "ok",
    ]


async def test_regions_code_prefixes(front: Front) -> None:
    """``regions``: GB/T 2260 code prefixes of where the member lives (a code or an unambiguous
    name given by staff, else the union's region); a store elsewhere changes nothing."""
    union = await front.grassroots("HB-YC-XL")  # 西陵区, 420502
    people = {
        "union's": await front.member(union),
        "code": await front.member(union, region="420525"),  # 远安县
        "full name": await front.member(union, region="湖北省宜昌市远安县"),
        "short name": await front.member(union, region="远安县"),
        "Beijing": await front.member(union, region="110105"),  # 北京市朝阳区
    }
    r = await front.client.get(f"/api/v1/members/{people['short name'].id}")
    assert (r.json()["region_code"], r.json()["region_name"]) == ("420525", "湖北省宜昌市远安县")
    shop = await front.shop(region="110105")  # the sale in Beijing: the member's region counts
    no = "not_eligible/region_not_listed"
    # (regions, verdict for each member in the order above)
    cases: list[tuple[list[str], list[str]]] = [
        (["42"], ["ok", "ok", "ok", "ok", no]),
        (["4205"], ["ok", "ok", "ok", "ok", no]),
        # A province's or city's own code (as its union carries it) stands for all of it.
        (["420000"], ["ok", "ok", "ok", "ok", no]),
        (["420500"], ["ok", "ok", "ok", "ok", no]),
        (["420525"], [no, "ok", "ok", "ok", no]),
        (["420502", "11"], ["ok", no, no, no, "ok"]),
        (["4206"], [no, no, no, no, no]),
    ]
    for regions, expected in cases:
        prog = await front.program(front.orgs["HB"], eligibility={"regions": regions})
        got = [await judged(front, shop, who, prog) for who in people.values()]
        assert got == expected, regions
    # Staff correct where a member lives: the verdict follows at once.
    moved = people["Beijing"]
    r = await front.client.patch(f"/api/v1/members/{moved.id}", json={"region_code": "420525"})
    assert r.status_code == 200, r.text
    yuanan = await front.program(front.orgs["HB"], eligibility={"regions": ["420525"]})
    assert await judged(front, shop, moved, yuanan) == "ok"
