"""A programme's own settings, end to end: validity window, priority, static codes, its name and
description, and its life (pause, resume, a new version, end), all through the staff API and
seen at a till."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.benefits.e2e.steps import just_before, verdict
from tests.support.front import Front


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


COVERS = {
    "name",
    "description",
    "valid_from",
    "valid_until",
    "priority",
    "accept_static_tokens",
    "lifecycle",
}


async def test_validity_window(front: Front) -> None:
    """``valid_from`` is the first instant (inclusive), ``valid_until`` the end (exclusive)."""
    shop = await front.shop()
    who = await front.member(await front.grassroots("HB-YC-XL"))
    code = await front.static_code(who)
    start = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    end = start + timedelta(days=3)
    prog = await front.program(front.orgs["HB"], valid_from=_iso(start), valid_until=_iso(end))
    assert await verdict(front, shop, code, prog) == "program_inactive"  # not started
    front.set_clock(just_before(start))
    assert await verdict(front, shop, code, prog) == "program_inactive"
    front.set_clock(start)
    assert await verdict(front, shop, code, prog) == "ok"
    front.set_clock(just_before(end))
    assert await verdict(front, shop, code, prog) == "ok"
    front.set_clock(end)
    assert await verdict(front, shop, code, prog) == "program_inactive"  # expired


async def test_priority_orders_the_offer(front: Front) -> None:
    """The scan offers higher priorities first, whatever their codes."""
    shop = await front.shop()
    who = await front.member(await front.grassroots("HB-YC-XL"))
    code = await front.static_code(who)
    low = await front.program(front.orgs["HB"], priority=-5)
    high = await front.program(front.orgs["HB"], priority=50)
    mid = await front.program(front.orgs["HB"])
    body = await front.scan(shop, code, 10000)
    mine = [
        b["program_id"]
        for b in body["benefits"]
        if b["program_id"] in {low["id"], high["id"], mid["id"]}
    ]
    assert mine == [high["id"], mid["id"], low["id"]]


async def test_accept_static_tokens(front: Front) -> None:
    """A programme that refuses printed cards: the card's static code is refused (and the scan
    says why), the phone's rotating code is accepted; other programmes take both."""
    shop = await front.shop()
    who = await front.member(await front.grassroots("HB-YC-XL"))
    printed = await front.static_code(who)
    phone_only = await front.program(front.orgs["HB"], accept_static_tokens=False)
    both = await front.program(front.orgs["HB"], accept_static_tokens=True)
    assert await verdict(front, shop, printed, phone_only) == "static_token_refused"
    assert await verdict(front, shop, printed, both) == "ok"
    assert await verdict(front, shop, await front.phone_code(who), phone_only) == "ok"


async def test_name_and_description_reach_the_till(front: Front) -> None:
    shop = await front.shop()
    who = await front.member(await front.grassroots("HB-YC-XL"))
    prog = await front.program(front.orgs["HB"], name="职工观影季", description="每月两次")
    offered = await front.offered(shop, await front.static_code(who), 10000)
    assert offered[prog["id"]]["name"] == "职工观影季"
    r = await front.client.get(f"/api/v1/programs/{prog['id']}")
    assert r.json()["rules"]["description"] == "每月两次"


async def test_lifecycle(front: Front) -> None:
    """Paused: refused; resumed: offered; a new version's rules apply at once; ended: refused."""
    shop = await front.shop()
    who = await front.member(await front.grassroots("HB-YC-XL"))
    code = await front.static_code(who)
    prog = await front.program(front.orgs["HB"])
    base = f"/api/v1/programs/{prog['id']}"
    assert (await front.client.post(base + "/pause")).status_code == 200
    assert await verdict(front, shop, code, prog) == "program_inactive"
    assert (await front.client.post(base + "/resume")).status_code == 200
    assert await verdict(front, shop, code, prog) == "ok"
    rules = dict(prog["rules"], benefit={"kind": "amount_off", "off_fen": 300})
    r = await front.client.patch(base, json={"rules": rules, "new_version": True})
    assert r.status_code == 200, r.text
    offered = await front.offered(shop, code, 10000)
    assert offered[prog["id"]]["benefit"]["discount_fen"] == 300
    status, done = await front.redeem(shop, code, prog, 10000)
    assert status == 201 and done["discount_fen"] == 300 and done["program_version"] == 2
    assert (await front.client.post(base + "/end")).status_code == 200
    assert await verdict(front, shop, code, prog) == "program_inactive"
