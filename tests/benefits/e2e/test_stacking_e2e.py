"""Stacking, end to end: exclusive and grouped programmes made through the staff API, combined
on one bill at a till through the terminal API, in one call (``program_ids``) and in separate
calls naming the merchant's ``bill_ref``.

One verdict per combination: the scan offers each programme of it (alone, each is usable), so a
refusal is the combination's; a refused call leaves nothing on the bill.
"""

from __future__ import annotations

import itertools
from typing import Any

from tests.benefits.e2e.steps import verdict
from tests.support.front import Front, Shop

COVERS = {"stacking"}

_bills = itertools.count(1)
ONE_CALL, ON_BILL = "stacking_conflict", "bill_stacking_conflict"


async def combined(
    front: Front, shop: Shop, code: str, programs: list[dict[str, Any]], *, separately: bool
) -> str:
    """``"ok"`` if ``programs`` all go on one new bill (in one call, or one call each with the
    same ``bill_ref``), else the refusal's code; the bill then holds only what was redeemed."""
    offered = await front.offered(shop, code, 10000)
    assert all(p["id"] in offered for p in programs), offered
    bill = f"MX-{next(_bills)}"
    calls = [[p] for p in programs] if separately else [programs]
    done: list[str] = []
    for call in calls:
        status, body = await front.redeem_bill(shop, code, call, 5000, bill)
        if status != 201:
            assert await front.bill(shop, bill) == sorted(done), body
            return str(body["code"])
        done += [p["id"] for p in call]
    assert await front.bill(shop, bill) == sorted(done)
    return "ok"


async def test_exclusive_and_groups_on_one_bill(front: Front) -> None:
    """An exclusive programme stands alone; group programmes combine within their group; a
    programme applies once a bill; in one call or across calls alike."""
    shop = await front.shop()
    code = await front.static_code(await front.member(await front.grassroots("HB-YC-XL")))

    async def prog(stacking: dict[str, str]) -> dict[str, Any]:
        return await front.program(front.orgs["HB"], stacking=stacking)

    ex1, ex2 = await prog({"mode": "exclusive"}), await prog({"mode": "exclusive"})
    a1 = await prog({"mode": "group", "group": "dining"})
    a2 = await prog({"mode": "group", "group": "dining"})
    b = await prog({"mode": "group", "group": "culture"})
    # (programmes, verdict in one call, verdict in one call each on the same bill)
    cases = [
        ([ex1], "ok", "ok"),
        ([ex1, ex2], ONE_CALL, ON_BILL),
        ([ex1, a1], ONE_CALL, ON_BILL),
        ([a1, ex1], ONE_CALL, ON_BILL),
        ([a1, a2], "ok", "ok"),
        ([a1, b], ONE_CALL, ON_BILL),
        ([a1, a2, b], ONE_CALL, ON_BILL),
    ]
    for programs, in_one, in_many in cases:
        got = [await combined(front, shop, code, programs, separately=s) for s in (False, True)]
        assert got == [in_one, in_many], [p["rules"]["stacking"] for p in programs]
    # Once a bill: the same group programme again on its bill.
    assert await combined(front, shop, code, [a1, a1], separately=True) == ON_BILL
    # Without a bill reference every call is its own bill.
    for p in (ex1, a1, ex1):
        assert await verdict(front, shop, code, p) == "ok"


async def test_a_bill_is_the_merchants(front: Front) -> None:
    """A bill reference is the merchant's: its other store shares the bill, another merchant's
    same reference is another bill."""
    shop = await front.shop()
    sibling = await front.store(shop.merchant_id, "dining")
    other = await front.shop()
    code = await front.static_code(await front.member(await front.grassroots("HB-YC-XL")))
    ex = await front.program(front.orgs["HB"], stacking={"mode": "exclusive"})
    grouped = await front.program(front.orgs["HB"], stacking={"mode": "group", "group": "x"})
    status, _ = await front.redeem_bill(shop, code, [ex], bill_ref="SHARED-1")
    assert status == 201
    status, body = await front.redeem_bill(sibling, code, [grouped], bill_ref="SHARED-1")
    assert (status, body["code"]) == (409, ON_BILL)
    status, body = await front.redeem_bill(other, code, [grouped], bill_ref="SHARED-1")
    assert status == 201, body
