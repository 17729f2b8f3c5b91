"""Vouchers (消费券) in the till's day, in the browser: a programme redeemed and a voucher used
at the till (360 px); today's list shows the voucher use (campaign, masked card, bill, subsidy)
and the day's totals with the vouchers' share; the cashier voids it from the list (the totals
follow without a reload, the voucher goes back to the member); used again, the end-of-day
summary (desktop, print and in English) shows the programmes' and the vouchers' subsidies and their sum,
as the terminal API lists them for the day."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support.member_steps import staff
from tests.support.shop import (
    Member,
    member_phone,
    redeem_button,
    sign_in_till,
    terminal,
    wedge_scan,
)

ZONE = ZoneInfo("Asia/Shanghai")
NAME = "周末餐饮消费券"
USE = f"使用消费券 · {NAME}"


def _open_campaign(live: Live) -> str:
    """¥15 off a bill of ¥50 at dining merchants, paid by the federation, open now."""
    admin = staff(live, "admin")
    root = next(
        o
        for o in admin.get("/api/v1/orgs", params={"limit": 200}).json()["items"]
        if o["code"] == "HB"
    )
    now = datetime.now(UTC)
    r = admin.post(
        "/api/v1/voucher-campaigns",
        json={
            "code": f"D{uuid.uuid4().hex[:8]}",
            "name": NAME,
            "owner_org_id": root["id"],
            "stock": 5,
            "opens_at": (now - timedelta(minutes=1)).isoformat(),
            "closes_at": (now + timedelta(hours=1)).isoformat(),
            "terms": {
                "value": {"kind": "amount_off", "off_fen": 1500, "min_spend_fen": 5000},
                "funded_by": "federation",
                "valid_days": 7,
                "scope": {"merchant_categories": ["dining"]},
            },
        },
    )
    assert r.status_code == 201, r.text
    cid = str(r.json()["id"])
    assert admin.post(f"/api/v1/voucher-campaigns/{cid}/publish").status_code == 200
    admin.close()
    return cid


def _fen(n: int) -> str:
    return f"¥{n // 100:,}.{n % 100:02d}"


def _todays(live: Live, key: str, path: str, terminal_id: str) -> list[dict[str, Any]]:
    """What the terminal API lists of this till's day (``path``: the ledger or the vouchers)."""
    midnight = datetime.now(ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {key}"}) as c:
        r = c.get(path, params={"from": midnight.isoformat(), "limit": 200})
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    return [i for i in r.json()["items"] if i["terminal_id"] == terminal_id]


def _use_voucher(page: Page, member: Member, amount: str) -> None:
    wedge_scan(page, member.token(), amount=amount)
    page.locator(".shop-voucher").get_by_role("button", name=USE).click()
    expect(page.locator("[data-voucher-use] [data-outcome='ok']")).to_contain_text("消费券核销成功")


def test_vouchers_in_todays_list_and_the_end_of_day_summary(live: Live, page: Page) -> None:
    cid = _open_campaign(live)
    member = Member(live, member_phone(live))
    member.claim(cid)
    till = terminal(live, "dining")
    page.set_viewport_size({"width": 360, "height": 780})
    sign_in_till(page, live, till["key"])

    # A programme redeemed, then the voucher used, on two scans.
    wedge_scan(page, member.token(), amount="88")
    redeem_button(page, "YC-DINING").click()
    expect(page.locator(".shop-done")).to_contain_text("核销成功")
    _use_voucher(page, member, "88")

    # Today's list: the voucher use beside the redemption, the totals with the vouchers' share.
    page.get_by_role("link", name="今日核销").click()
    used = page.locator(".shop-item[data-voucher-use]")
    expect(used).to_have_count(1)
    expect(page.locator(".shop-item[data-redemption]")).not_to_have_count(0)
    expect(used).to_contain_text("消费券")
    expect(used).to_contain_text(NAME)
    expect(used).to_contain_text("¥88.00")
    expect(used).to_contain_text("¥73.00")
    expect(used.locator(".shop-item-subsidy")).to_have_text("¥15.00")
    expect(used).to_contain_text("**** **** **** ")
    expect(page.locator("#today-vouchers")).to_have_text("1")
    expect(page.locator("#today-voucher-subsidy")).to_have_text("¥15.00")
    subsidy_before = page.locator("#today-subsidy").inner_text()
    assert no_horizontal_scroll(page)
    shot(page, "voucher-today-360")

    # Voided from the list: the row says so, the totals follow (no reload).
    used.get_by_text("撤销这次用券").click()
    used.get_by_label("撤销原因").select_option("顾客退单")
    shot(page, "voucher-today-void-form-360")
    used.get_by_role("button", name="确认撤销").click()
    expect(used.locator(".badge.err")).to_have_text("已撤销")
    expect(page.locator("#flash")).to_contain_text("已撤销，消费券已退回会员")
    expect(page.locator("#today-vouchers")).to_have_text("0")
    expect(page.locator("#today-voucher-subsidy")).to_have_text("¥0.00")
    assert page.locator("#today-subsidy").inner_text() != subsidy_before
    assert no_horizontal_scroll(page)
    shot(page, "voucher-today-voided-360")

    # The voucher went back: used again on a bigger bill.
    page.get_by_role("link", name="扫码核销").click()
    _use_voucher(page, member, "120")

    # On a desktop: two uses listed (one voided), then the end-of-day summary.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live.url + "/shop/today")
    expect(page.locator(".shop-item[data-voucher-use]")).to_have_count(2)
    expect(page.locator(".shop-item[data-voucher-use].is-void")).to_have_count(1)
    shot(page, "voucher-today-desktop")
    page.get_by_role("link", name=re.compile("日结单")).click()
    programmes = _todays(live, till["key"], "/api/v1/redemptions", till["terminal_id"])
    uses = _todays(live, till["key"], "/api/v1/voucher-redemptions", till["terminal_id"])
    owed_programmes = sum(i["subsidy_fen"] for i in programmes if not i["reversed"])
    owed_vouchers = sum(i["subsidy_fen"] for i in uses if not i["reversed"])
    assert owed_vouchers == 1500 and owed_programmes > 0
    expect(page.locator("#sum-vouchers")).to_have_text("1")
    expect(page.locator("#sum-voucher-subsidy")).to_have_text(_fen(owed_vouchers))
    expect(page.locator("#sum-programme-subsidy")).to_have_text(_fen(owed_programmes))
    expect(page.locator("#sum-subsidy")).to_have_text(_fen(owed_programmes + owed_vouchers))
    expect(page.locator("#sum-voids")).to_have_text("1")
    expect(page.locator(".receipt [data-kind='voucher']")).to_have_text(f"消费券：{NAME}")
    shot(page, "voucher-summary-desktop")
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="打印日结单")).to_be_hidden()
    shot(page, "voucher-summary-print")
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 360, "height": 780})
    assert no_horizontal_scroll(page)
    shot(page, "voucher-summary-360")
    # In English too (the till's language switch).
    page.get_by_role("link", name="English").click()
    expect(page.locator(".receipt")).to_contain_text("Voucher subsidy")
    expect(page.locator(".receipt [data-kind='voucher']")).to_have_text(f"Voucher: {NAME}")
    page.goto(live.url + "/shop/today")
    expect(page.locator("#today-totals")).to_contain_text("Of it, for vouchers")
    expect(page.locator(".shop-item[data-voucher-use]").first).to_contain_text(
        "Void this voucher use"
    )
    assert no_horizontal_scroll(page)
    shot(page, "voucher-today-en-360")
    member.close()
