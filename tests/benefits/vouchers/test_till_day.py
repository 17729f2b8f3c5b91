"""The till's day with vouchers (消费券), through the front door on SQLite and PostgreSQL: a
programme redeemed and vouchers used (one funded by the federation, one borne by the merchant,
one voided) through the terminal API; then the terminal's list of voucher uses, the till's
today page (each use with its name, masked card, bill, subsidy, status and void control; a void
from the list) and the end-of-day summary, whose figures agree with the terminal's settlement
and the federation's statement of the same day."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import merchants.terminal.wiring as wiring
from tests.benefits.vouchers.conftest import claim, published_campaign
from tests.support.front import Front, Person, Shop

REDEEM = "/api/v1/voucher-redemptions"
ZONE = ZoneInfo("Asia/Shanghai")
MERCHANT_PAYS = {
    "value": {"kind": "percent_off", "basis_points": 2000, "cap_fen": 1500},
    "funded_by": "merchant",
    "valid_days": 3,
    "scope": {"merchant_categories": ["dining"]},
}


@pytest.fixture
def admission() -> str:
    """The claim admission in process only: the till's day does not depend on it."""
    return ""


def fen(n: int) -> str:
    return f"¥{n // 100:,}.{n % 100:02d}"


def text_of(html: str, element_id: str) -> str:
    m = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert m, f"#{element_id} not on the page"
    return m.group(1).strip()


def item_of(html: str, use_id: str) -> str:
    """The ``<li>`` of one voucher use on today's list."""
    m = re.search(rf'<li [^>]*data-voucher-use="{use_id}".*?</li>', html, re.S)
    assert m, f"voucher use {use_id} not listed"
    return m.group(0)


async def use(front: Front, shop: Shop, who: Person, cid: str, amount_fen: int) -> dict[str, Any]:
    r = await claim(front, who.phone, cid)
    assert r.status_code == 201, r.text
    r = await front.client.post(
        REDEEM,
        json={
            "code": await front.phone_code(who),
            "voucher_id": r.json()["id"],
            "amount_fen": amount_fen,
        },
        headers={**shop.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def open_till(front: Front, shop: Shop) -> str:
    """The till signed in on its pages (its cookie kept by the client); the pages' CSRF token."""
    r = await front.client.post("/shop/login", data={"key": shop.key}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    page = await front.client.get("/shop/")
    m = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert page.status_code == 200 and m, page.text[:300]
    return m.group(1)


async def a_day(front: Front) -> dict[str, Any]:
    """One programme redemption (federation-funded 10 %) and three voucher uses, one voided."""
    shop = await front.shop("dining")
    programme = await front.program(
        front.orgs["HB"],
        benefit={"kind": "percent_off", "basis_points": 1000, "funded_by": "federation"},
    )
    fed = await published_campaign(front, name="春季餐饮消费券")  # ¥10 off ¥50, federation
    own = await published_campaign(front, name="店庆八折券", terms=MERCHANT_PAYS)
    who = await front.member(await front.grassroots("HB-YC-XL"))
    other = await front.member(await front.grassroots("HB-YC-XL"))
    status, red = await front.redeem(shop, await front.phone_code(who), programme, 12000)
    assert status == 201, red
    paid = await use(front, shop, who, fed["id"], 8800)  # 10.00 off, owed by the federation
    borne = await use(front, shop, who, own["id"], 10000)  # 15.00 off (capped), borne here
    voided = await use(front, shop, other, fed["id"], 6000)
    r = await front.client.post(
        f"{REDEEM}/{voided['id']}/reversal",
        json={"reason": "顾客退单"},
        headers={**shop.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    return {"shop": shop, "red": red, "paid": paid, "borne": borne, "voided": voided}


async def test_the_terminal_lists_its_voucher_uses(front: Front) -> None:
    day = await a_day(front)
    shop: Shop = day["shop"]
    r = await front.client.get(REDEEM, headers=shop.headers)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    # Newest first, the voided one included and marked; nothing of another merchant.
    assert [i["id"] for i in items] == [day[k]["id"] for k in ("voided", "borne", "paid")]
    assert [i["reversed"] for i in items] == [True, False, False]
    assert items[0]["reversed_at"] is not None
    paid = items[2]
    assert (paid["campaign_name"], paid["amount_fen"], paid["discount_fen"]) == (
        "春季餐饮消费券",
        8800,
        1000,
    )
    assert (paid["payable_fen"], paid["subsidy_fen"], paid["funded_by"]) == (
        7800,
        1000,
        "federation",
    )
    assert (paid["store_id"], paid["terminal_id"]) == (shop.store_id, shop.terminal_id)
    assert (items[1]["subsidy_fen"], items[1]["funded_by"]) == (0, "merchant")
    # Page by page with the cursor: the same three, once each.
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        r = await front.client.get(REDEEM, params=params, headers=shop.headers)
        assert r.status_code == 200, r.text
        seen += [i["id"] for i in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [i["id"] for i in items]
    # A window before the uses lists none; a bad cursor is a problem, not a 500.
    before = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    r = await front.client.get(REDEEM, params={"to": before}, headers=shop.headers)
    assert r.status_code == 200 and r.json()["items"] == []
    r = await front.client.get(REDEEM, params={"cursor": "nope"}, headers=shop.headers)
    assert r.status_code == 400 and r.json()["code"] == "invalid_cursor"
    other = await front.shop("dining")
    r = await front.client.get(REDEEM, headers=other.headers)
    assert r.status_code == 200 and r.json()["items"] == []
    # Staff see the same list of the merchant's uses; another merchant's has none.
    staff_view = f"/api/v1/merchants/{shop.merchant_id}/voucher-redemptions"
    r = await front.client.get(staff_view)
    assert r.status_code == 200, r.text
    assert r.json()["items"] == items
    r = await front.client.get(staff_view, params={"limit": 1})
    assert [i["id"] for i in r.json()["items"]] == [items[0]["id"]] and r.json()["next_cursor"]
    r = await front.client.get(f"/api/v1/merchants/{other.merchant_id}/voucher-redemptions")
    assert r.status_code == 200 and r.json()["items"] == []
    r = await front.client.get(staff_view, params={"cursor": "nope"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_cursor"


async def test_today_and_the_summary_agree_with_the_settlement(front: Front) -> None:
    day = await a_day(front)
    shop: Shop = day["shop"]
    await open_till(front, shop)
    red, paid, borne, voided = day["red"], day["paid"], day["borne"], day["voided"]
    programme_subsidy = red["subsidy_fen"]
    assert programme_subsidy == 1200

    r = await front.client.get("/shop/today")
    assert r.status_code == 200, r.text
    html = r.text
    # Every use listed, with its campaign, masked card, bill, subsidy and status.
    assert html.count("data-voucher-use=") == 3 and html.count("data-redemption=") == 1
    item = item_of(html, paid["id"])
    assert "春季餐饮消费券" in item and "消费券" in item
    assert re.search(r"\*{4} \*{4} \*{4} \d{4}", item), item
    assert fen(8800) in item and fen(1000) in item and fen(7800) in item
    assert f"/shop/voucher-uses/{paid['id']}/void" in item and "撤销这次用券" in item
    assert "优惠由本店承担，无工会补贴" in item_of(html, borne["id"])
    gone = item_of(html, voided["id"])
    assert "is-void" in gone and "已撤销" in gone and "/void" not in gone
    # Today's totals: the vouchers in the count and in what the union owes, shown apart.
    assert text_of(html, "today-count") == "3"
    assert text_of(html, "today-vouchers") == "2"
    assert text_of(html, "today-voids") == "1"
    assert text_of(html, "today-voucher-subsidy") == fen(1000)
    assert text_of(html, "today-subsidy") == fen(programme_subsidy + 1000)
    assert text_of(html, "today-discount") == fen(red["discount_fen"] + 1000 + 1500)

    r = await front.client.get("/shop/summary")
    assert r.status_code == 200, r.text
    receipt = r.text
    assert text_of(receipt, "sum-count") == "3"
    assert text_of(receipt, "sum-vouchers") == "2"
    assert text_of(receipt, "sum-voids") == "1"
    assert text_of(receipt, "sum-programme-subsidy") == fen(programme_subsidy)
    assert text_of(receipt, "sum-voucher-subsidy") == fen(1000)
    assert text_of(receipt, "sum-subsidy") == fen(programme_subsidy + 1000)
    assert "消费券：春季餐饮消费券" in receipt and "消费券：店庆八折券" in receipt

    # The terminal's settlement and the federation's statement say the same of the day.
    month = datetime.now(ZONE).strftime("%Y-%m")
    s = await front.client.get(f"/api/v1/settlements/{month}", headers=shop.headers)
    assert s.status_code == 200, s.text
    body = s.json()
    assert fen(body["totals"]["subsidy_fen"]) == text_of(receipt, "sum-programme-subsidy")
    assert fen(body["voucher_subsidy_fen"]) == text_of(receipt, "sum-voucher-subsidy")
    counted = body["totals"]["count"] + sum(v["count"] for v in body["vouchers"])
    assert str(counted) == text_of(receipt, "sum-count")
    discounts = body["totals"]["discount_fen"] + sum(v["discount_fen"] for v in body["vouchers"])
    assert fen(discounts) == text_of(receipt, "sum-discount")
    st = await front.client.get(f"/api/v1/settlement-statements/{month}/{shop.merchant_id}")
    assert st.status_code == 200, st.text
    totals = st.json()["totals"]
    assert fen(totals["subsidy_fen"]) == text_of(receipt, "sum-subsidy")
    assert str(totals["count"]) == text_of(receipt, "sum-count")


async def test_void_a_voucher_use_from_todays_list(front: Front) -> None:
    day = await a_day(front)
    shop: Shop = day["shop"]
    paid = day["paid"]
    csrf = await open_till(front, shop)
    html = (await front.client.get("/shop/today")).text
    key = re.search(r'name="idem" value="([^"]+)"', item_of(html, paid["id"]))
    assert key
    form = {"csrf": csrf, "idem": key.group(1), "reason": "顾客退单", "view": "today"}
    r = await front.client.post(
        f"/shop/voucher-uses/{paid['id']}/void",
        data=form,
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert r.status_code == 200, r.text
    # The row again, voided; the totals swapped in; the flash says the voucher went back.
    assert f'id="row-{paid["id"]}"' in r.text and "已撤销" in r.text
    assert 'hx-swap-oob="outerHTML"' in r.text and "已撤销，消费券已退回会员" in r.text
    assert text_of(r.text, "today-voucher-subsidy") == fen(0)
    assert text_of(r.text, "today-subsidy") == fen(day["red"]["subsidy_fen"])
    assert text_of(r.text, "today-voids") == "2"
    # The same form again (a retry): the same void, said so; never a second one.
    again = await front.client.post(
        f"/shop/voucher-uses/{paid['id']}/void",
        data=form,
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert again.status_code == 200 and "这笔已撤销（重复提交）" in again.text
    # The terminal's list and settlement agree.
    r = await front.client.get(REDEEM, headers=shop.headers)
    assert {i["id"]: i["reversed"] for i in r.json()["items"]}[paid["id"]] is True
    month = datetime.now(ZONE).strftime("%Y-%m")
    s = await front.client.get(f"/api/v1/settlements/{month}", headers=shop.headers)
    assert s.json()["voucher_subsidy_fen"] == 0

    # Without JavaScript the list is shown again; past the window, no void is offered.
    borne = day["borne"]
    html = (await front.client.get("/shop/today")).text
    key = re.search(r'name="idem" value="([^"]+)"', item_of(html, borne["id"]))
    assert key
    form = {"csrf": csrf, "idem": key.group(1), "reason": "收银操作失误", "view": "today"}
    services = wiring.services_of(front.app.state)
    window = services.reversal_window_seconds
    services.reversal_window_seconds = 0
    try:
        late = (await front.client.get("/shop/today")).text
        assert "已超过可撤销期限" in item_of(late, borne["id"])
        assert f"/shop/voucher-uses/{borne['id']}/void" not in late
    finally:
        services.reversal_window_seconds = window
    # A plain form post: the token in the form only (not the staff API's header of the client).
    r = await front.client.post(
        f"/shop/voucher-uses/{borne['id']}/void",
        data=form,
        headers={"X-CSRF-Token": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/shop/today"
    html = (await front.client.get("/shop/today")).text
    assert "已撤销" in item_of(html, borne["id"]) and text_of(html, "today-vouchers") == "0"


async def test_the_summary_counts_each_bill_once(front: Front) -> None:
    """Two programmes in one call, and a voucher naming the same bill on what they left to pay:
    the end-of-day summary counts the bill's amount once and what the member finally paid,
    beside a bill of its own."""
    shop = await front.shop("dining")
    group = {"mode": "group", "group": "dining"}
    a = await front.program(front.orgs["HB"], stacking=group)
    b = await front.program(front.orgs["HB"], stacking=group)
    fed = await published_campaign(front, name="春季餐饮消费券")  # ¥10 off ¥50
    who = await front.member(await front.grassroots("HB-YC-XL"))
    status, bill = await front.redeem_bill(shop, await front.phone_code(who), [a, b], 10000, "B-1")
    assert status == 201, bill
    assert [line["amount_fen"] for line in bill["lines"]] == [10000, 9000]  # 10 % of what is left
    r = await claim(front, who.phone, fed["id"])
    assert r.status_code == 201, r.text
    r = await front.client.post(
        REDEEM,
        json={
            "code": await front.phone_code(who),
            "voucher_id": r.json()["id"],
            "amount_fen": bill["payable_fen"],
            "bill_ref": "B-1",
        },
        headers={**shop.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    assert bill["payable_fen"] == 8100 and r.json()["payable_fen"] == 7100
    status, alone = await front.redeem(shop, await front.phone_code(who), a, 6000)
    assert status == 201, alone

    await open_till(front, shop)
    receipt = (await front.client.get("/shop/summary")).text
    assert text_of(receipt, "sum-count") == "4"  # two lines, one voucher, one more redemption
    assert text_of(receipt, "sum-amount") == fen(10000 + 6000)
    assert text_of(receipt, "sum-discount") == fen(1000 + 900 + 1000 + 600)
    assert text_of(receipt, "sum-payable") == fen(7100 + 5400)
