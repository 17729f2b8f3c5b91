"""What a programme is worth, end to end: every benefit kind and each of its fields, set by staff
through the API; the scan's figures for the bill and the redemption's must be the same."""

from __future__ import annotations

from typing import Any

import pytest

from benefits.rules.programme import BenefitKind
from tests.benefits.e2e.steps import verdict
from tests.support.front import Front

# (benefit, amount_fen, units, (discount, payable, units, subsidy) or a refusal's code)
BENEFIT_CASES: list[tuple[dict[str, Any], int, int, tuple[int, int, int, int] | str]] = [
    ({"kind": "percent_off", "basis_points": 1000}, 8800, 1, (880, 7920, 1, 0)),
    ({"kind": "percent_off", "basis_points": 1500}, 8803, 1, (1320, 7483, 1, 0)),  # half-up
    ({"kind": "percent_off", "basis_points": 1000, "cap_fen": 500}, 8800, 1, (500, 8300, 1, 0)),
    ({"kind": "percent_off", "basis_points": 10000}, 8800, 1, (8800, 0, 1, 0)),
    (
        {"kind": "percent_off", "basis_points": 2000, "funded_by": "federation"},
        5000,
        1,
        (1000, 4000, 1, 1000),
    ),
    ({"kind": "amount_off", "off_fen": 1000, "funded_by": "merchant"}, 6000, 1, (1000, 5000, 1, 0)),
    ({"kind": "amount_off", "off_fen": 3000}, 2000, 1, (2000, 0, 1, 0)),  # never below zero
    ({"kind": "amount_off", "off_fen": 1000, "min_spend_fen": 5000}, 5000, 1, (1000, 4000, 1, 0)),
    ({"kind": "amount_off", "off_fen": 1000, "min_spend_fen": 5000}, 4999, 1, "below_min_spend"),
    (
        {"kind": "amount_off", "off_fen": 800, "funded_by": "federation"},
        3000,
        1,
        (800, 2200, 1, 800),
    ),
    ({"kind": "fixed_price", "price_fen": 2000}, 8000, 2, (4000, 4000, 2, 0)),
    ({"kind": "fixed_price", "price_fen": 5000}, 3000, 1, (0, 3000, 1, 0)),  # dearer than bill
    (
        {"kind": "fixed_price", "price_fen": 1000, "funded_by": "federation"},
        4000,
        3,
        (1000, 3000, 3, 1000),
    ),
    ({"kind": "free_units"}, 5000, 2, (5000, 0, 2, 0)),
    ({"kind": "free_units", "per_unit_fen": 1500}, 5000, 2, (5000, 0, 2, 3000)),
    ({"kind": "subsidy", "per_unit_fen": 500}, 10000, 3, (1500, 8500, 3, 1500)),
    ({"kind": "subsidy", "per_unit_fen": 500}, 1000, 3, (1000, 0, 3, 1000)),  # at most the bill
]

COVERS = {f"benefit.{b['kind']}.{k}" for b, *_ in BENEFIT_CASES for k in b} | {
    f"funding.{b['funded_by']}" for b, *_ in BENEFIT_CASES if "funded_by" in b
}


@pytest.mark.parametrize("kind", [k.value for k in BenefitKind])
async def test_benefit(front: Front, kind: str) -> None:
    """Each case of ``kind`` is its own programme, scanned and redeemed for its bill."""
    cases = [c for c in BENEFIT_CASES if c[0]["kind"] == kind]
    assert cases, f"no case for {kind}"
    shop = await front.shop()
    who = await front.member(await front.grassroots("HB-YC-XL"))
    code = await front.static_code(who)
    programs = [await front.program(front.orgs["HB"], benefit=c[0]) for c in cases]
    # Before the bill is known every case is shown: offered, or (a minimum spend) listed as
    # not usable yet with the reason the cashier may tell.
    scan = await front.scan(shop, code)
    shown = {b["program_id"]: "ok" for b in scan["benefits"]}
    shown |= {u["program_id"]: u["code"] for u in scan["unavailable"]}
    for prog, (benefit, *_) in zip(programs, cases, strict=True):
        assert shown[prog["id"]] == ("below_min_spend" if "min_spend_fen" in benefit else "ok")
    for prog, (benefit, amount, units, expected) in zip(programs, cases, strict=True):
        if isinstance(expected, str):
            assert await verdict(front, shop, code, prog, amount, units) == expected, benefit
            continue
        discount, payable, n, subsidy = expected
        figures = {
            "discount_fen": discount,
            "payable_fen": payable,
            "units": n,
            "subsidy_fen": subsidy,
        }
        offered = await front.offered(shop, code, amount, units)
        assert offered[prog["id"]]["kind"] == kind
        assert offered[prog["id"]]["benefit"] == figures, benefit
        status, done = await front.redeem(shop, code, prog, amount, units)
        assert status == 201, done
        assert {k: done[k] for k in figures} == figures, benefit
        assert done["amount_fen"] == amount
