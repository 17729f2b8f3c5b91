"""Vouchers at the till, through the front door on SQLite and PostgreSQL: staff make a campaign,
the member claims it, the terminal's scan offers it beside the programmes, the terminal redeems
it exactly once (retries replay, a second use is ``voucher_already_used``, two concurrent uses
make one), a reversal gives it back (or lets it lapse when it expired meanwhile), and the
merchant's settlement and the federation's statement (JSON and xlsx) show the subsidy owed."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from tests.benefits.vouchers.conftest import ME, claim, published_campaign
from tests.support.front import Front, Person, Shop

REDEEM = "/api/v1/voucher-redemptions"


@pytest.fixture
def admission() -> str:
    """The claim admission in process only: the till does not depend on it."""
    return ""


def month_now() -> str:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")


async def voucher_of(front: Front, who: Person, cid: str) -> dict[str, Any]:
    r = await claim(front, who.phone, cid)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def redeem(
    front: Front,
    shop: Shop,
    code: str,
    voucher_id: str,
    amount_fen: int,
    key: str | None = None,
) -> Any:
    return await front.client.post(
        REDEEM,
        json={"code": code, "voucher_id": voucher_id, "amount_fen": amount_fen},
        headers={**shop.headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )


async def wallet_status(front: Front, who: Person, voucher_id: str) -> str:
    async with front.as_member(who.phone) as c:
        r = await c.get(f"{ME}/")
        assert r.status_code == 200, r.text
    [v] = [v for v in r.json()["items"] if v["id"] == voucher_id]
    return str(v["status"])


async def test_scan_redeem_reverse_settle(front: Front) -> None:
    campaign = await published_campaign(front)
    programme = await front.program(front.orgs["HB"])
    who = await front.member(await front.grassroots("HB-YC-XL"))
    voucher = await voucher_of(front, who, campaign["id"])
    shop = await front.shop("dining")
    elsewhere = await front.shop("retail")

    # The scan offers the voucher beside the programme, with the bill's discount.
    code = await front.phone_code(who)
    scan = await front.scan(shop, code, amount_fen=8800)
    assert programme["id"] in [b["program_id"] for b in scan["benefits"]]
    [offer] = scan["vouchers"]
    assert offer["voucher_id"] == voucher["id"] and offer["code"] is None
    assert (offer["discount_fen"], offer["payable_fen"]) == (1000, 7800)
    # Below the minimum spend it is shown, refused; at a store out of scope, not at all.
    low = await front.scan(shop, await front.phone_code(who), amount_fen=3000)
    assert [v["code"] for v in low["vouchers"]] == ["below_min_spend"]
    other = await front.scan(elsewhere, await front.phone_code(who), amount_fen=8800)
    assert other["vouchers"] == []

    refused = await redeem(front, elsewhere, code, voucher["id"], 8800)
    assert refused.status_code == 403 and refused.json()["code"] == "voucher_not_usable_here"
    below = await redeem(front, shop, code, voucher["id"], 3000)
    assert below.status_code == 422 and below.json()["code"] == "below_min_spend"

    key = uuid.uuid4().hex
    r = await redeem(front, shop, code, voucher["id"], 8800, key)
    assert r.status_code == 201, r.text
    used = r.json()
    assert (used["discount_fen"], used["payable_fen"], used["subsidy_fen"]) == (1000, 7800, 1000)
    assert used["funded_by"] == "federation"
    # The same key and body: the same use (replayed); another key: already used.
    again = await redeem(front, shop, code, voucher["id"], 8800, key)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == used["id"]
    conflict = await redeem(front, shop, code, voucher["id"], 9900, key)
    assert conflict.status_code == 409 and conflict.json()["code"] == "idempotency_conflict"
    twice = await redeem(front, shop, await front.phone_code(who), voucher["id"], 8800)
    assert twice.status_code == 409 and twice.json()["code"] == "voucher_already_used"
    assert await wallet_status(front, who, voucher["id"]) == "used"
    assert (await front.scan(shop, await front.phone_code(who), 8800))["vouchers"] == []

    # The settlement shows what the federation owes for it; the statement and its xlsx too.
    month = month_now()
    s = await front.client.get(f"/api/v1/settlements/{month}", headers=shop.headers)
    assert s.status_code == 200, s.text
    [line] = s.json()["vouchers"]
    assert (line["campaign_id"], line["count"], line["subsidy_fen"]) == (campaign["id"], 1, 1000)
    assert s.json()["voucher_subsidy_fen"] == 1000
    csv = await front.client.get(
        f"/api/v1/settlements/{month}", headers={**shop.headers, "Accept": "text/csv"}
    )
    assert f"VOUCHER,{campaign['code']}" in csv.text
    st = await front.client.get(f"/api/v1/settlement-statements/{month}/{shop.merchant_id}")
    assert st.status_code == 200, st.text
    [vline] = [g for g in st.json()["lines"] if g["kind"] == "voucher"]
    assert (vline["program_code"], vline["subsidy_fen"]) == (campaign["code"], 1000)
    assert st.json()["totals"]["subsidy_fen"] >= 1000
    x = await front.client.get(f"/api/v1/settlement-statements/{month}/export")
    assert x.status_code == 200, x.text
    sheet = load_workbook(io.BytesIO(x.content))["按项目"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert [campaign["code"], 1, 10.0, "消费券"] in [[r[2], r[3], r[8], r[9]] for r in rows]

    # The vouchers report counts the use at this merchant, with the subsidy owed.
    rep = await front.client.get("/api/v1/reports/vouchers", params={"org_id": front.orgs["HB"]})
    assert rep.status_code == 200, rep.text
    sections = {x["key"]: x["rows"] for x in rep.json()["sections"]}
    by_merchant = {row["merchant_id"]: row for row in sections["by_merchant"]}
    assert (
        by_merchant[shop.merchant_id]["used"],
        by_merchant[shop.merchant_id]["subsidy_fen"],
    ) == (
        1,
        1000,
    )

    # A reversal gives the voucher back; it may be used again.
    back = await front.client.post(
        f"{REDEEM}/{used['id']}/reversal",
        json={"reason": "顾客退单"},
        headers={**shop.headers, "Idempotency-Key": "rev-1"},
    )
    assert back.status_code == 201, back.text
    assert back.json()["voucher_status"] == "active"
    replay = await front.client.post(
        f"{REDEEM}/{used['id']}/reversal",
        json={"reason": "顾客退单"},
        headers={**shop.headers, "Idempotency-Key": "rev-1"},
    )
    assert replay.status_code == 200 and replay.json()["id"] == used["id"]
    twice_back = await front.client.post(
        f"{REDEEM}/{used['id']}/reversal",
        json={"reason": "顾客退单"},
        headers={**shop.headers, "Idempotency-Key": "rev-2"},
    )
    assert twice_back.status_code == 409 and twice_back.json()["code"] == "already_reversed"
    assert await wallet_status(front, who, voucher["id"]) == "active"
    s = await front.client.get(f"/api/v1/settlements/{month}", headers=shop.headers)
    [line] = s.json()["vouchers"]
    assert (line["uses"], line["reversed"], line["count"], line["subsidy_fen"]) == (1, 1, 0, 0)
    r = await redeem(front, shop, await front.phone_code(who), voucher["id"], 6000)
    assert r.status_code == 201, r.text
    # Another merchant cannot see or reverse it.
    foreign = await front.client.post(
        f"{REDEEM}/{r.json()['id']}/reversal",
        json={"reason": "顾客退单"},
        headers={**elsewhere.headers, "Idempotency-Key": "rev-x"},
    )
    assert foreign.status_code == 404 and foreign.json()["code"] == "voucher_use_not_found"


async def test_merchant_funded_owes_nothing_and_percent_cap(front: Front) -> None:
    terms = {
        "value": {"kind": "percent_off", "basis_points": 2000, "cap_fen": 1500},
        "funded_by": "merchant",
        "valid_days": 3,
        "scope": {"merchant_categories": ["dining"]},
    }
    campaign = await published_campaign(front, terms=terms)
    who = await front.member(await front.grassroots("HB-YC-XL"))
    voucher = await voucher_of(front, who, campaign["id"])
    shop = await front.shop("dining")
    r = await redeem(front, shop, await front.phone_code(who), voucher["id"], 10000)
    assert r.status_code == 201, r.text
    assert (r.json()["discount_fen"], r.json()["subsidy_fen"]) == (1500, 0)
    s = await front.client.get(f"/api/v1/settlements/{month_now()}", headers=shop.headers)
    [line] = s.json()["vouchers"]
    assert (line["discount_fen"], line["subsidy_fen"], line["funded_by"]) == (1500, 0, "merchant")


async def test_reversal_after_expiry_lapses(front: Front) -> None:
    campaign = await published_campaign(front)
    who = await front.member(await front.grassroots("HB-YC-XL"))
    voucher = await voucher_of(front, who, campaign["id"])
    shop = await front.shop("dining")
    r = await redeem(front, shop, await front.phone_code(who), voucher["id"], 8800)
    assert r.status_code == 201, r.text
    # Within the reversal window but after the voucher's expiry (valid 7 days): it lapses.
    expires = datetime.fromisoformat(voucher["expires_at"])
    front.set_clock(expires + timedelta(minutes=1))
    try:
        import merchants.terminal.wiring as wiring

        services = wiring.services_of(front.app.state)
        window = services.reversal_window_seconds
        services.reversal_window_seconds = 8 * 86400
        back = await front.client.post(
            f"{REDEEM}/{r.json()['id']}/reversal",
            json={"reason": "顾客退单"},
            headers={**shop.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
    finally:
        services.reversal_window_seconds = window
        front.reset_clock()
    assert back.status_code == 201, back.text
    assert back.json()["voucher_status"] == "expired"
    assert await wallet_status(front, who, voucher["id"]) == "expired"
    late = await front.client.post(
        f"{REDEEM}/{r.json()['id']}/reversal",
        json={"reason": "顾客退单"},
        headers={**shop.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert late.status_code == 409 and late.json()["code"] == "already_reversed"


async def test_reversal_window_closed(front: Front) -> None:
    campaign = await published_campaign(front)
    who = await front.member(await front.grassroots("HB-YC-XL"))
    voucher = await voucher_of(front, who, campaign["id"])
    shop = await front.shop("dining")
    r = await redeem(front, shop, await front.phone_code(who), voucher["id"], 8800)
    assert r.status_code == 201, r.text
    front.set_clock(datetime.now(UTC) + timedelta(days=2))
    try:
        late = await front.client.post(
            f"{REDEEM}/{r.json()['id']}/reversal",
            json={"reason": "顾客退单"},
            headers={**shop.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
    finally:
        front.reset_clock()
    assert late.status_code == 409 and late.json()["code"] == "reversal_window_closed"


async def test_bad_requests_are_problems(front: Front) -> None:
    campaign = await published_campaign(front)
    who = await front.member(await front.grassroots("HB-YC-XL"))
    other = await front.member(await front.grassroots("HB-YC-XL"))
    voucher = await voucher_of(front, who, campaign["id"])
    shop = await front.shop("dining")
    code = await front.phone_code(other)
    # Another member's voucher, an unknown one: not found (nothing said about whose it is).
    for vid in (voucher["id"], str(uuid.uuid4())):
        r = await redeem(front, shop, code, vid, 8800)
        assert r.status_code == 404 and r.json()["code"] == "voucher_not_found", r.text
    r = await front.client.post(
        REDEEM,
        json={"code": code, "voucher_id": voucher["id"], "amount_fen": 8800},
        headers=shop.headers,
    )
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_required"
    r = await front.client.post(
        REDEEM,
        json={"code": code, "voucher_id": "x", "amount_fen": -1},
        headers={**shop.headers, "Idempotency-Key": "k"},
    )
    assert r.status_code == 400, r.text


async def test_concurrent_redeems_one_wins(front: Front) -> None:
    campaign = await published_campaign(front)
    who = await front.member(await front.grassroots("HB-YC-XL"))
    voucher = await voucher_of(front, who, campaign["id"])
    shop = await front.shop("dining")
    code = await front.phone_code(who)
    results = await asyncio.gather(
        *[redeem(front, shop, code, voucher["id"], 8800) for _ in range(4)]
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 409, 409, 409], [r.text for r in results]
    assert {r.json()["code"] for r in results if r.status_code == 409} == {"voucher_already_used"}
    # A double submit under one key: one use, the other its replay.
    voucher2 = await voucher_of(front, who, (await published_campaign(front))["id"])
    key = uuid.uuid4().hex
    twins = await asyncio.gather(
        *[redeem(front, shop, code, voucher2["id"], 8800, key) for _ in range(2)]
    )
    assert sorted(r.status_code for r in twins) == [200, 201], [r.text for r in twins]
    assert len({r.json()["id"] for r in twins}) == 1
    s = await front.client.get(f"/api/v1/settlements/{month_now()}", headers=shop.headers)
    assert sum(v["count"] for v in s.json()["vouchers"]) == 2
