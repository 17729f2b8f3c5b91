"""A voucher from the opening to the settlement, in the browser: the member waits for the
opening (countdown), claims and finds the voucher in the wallet (360 px); the shop till's scan
offers it beside the programmes and uses it (exactly once: the same form again says so); the
wallet shows it used; the staff settlement page shows the subsidy the federation owes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support import console
from tests.support.member_steps import sign_in, staff
from tests.support.shop import member_phone, sign_in_till, terminal, wedge_scan

ZONE = ZoneInfo("Asia/Shanghai")


def _campaign(live: Live) -> str:
    admin = staff(live, "admin")
    root = next(
        o
        for o in admin.get("/api/v1/orgs", params={"limit": 200}).json()["items"]
        if o["code"] == "HB"
    )
    opens = datetime.now(UTC) + timedelta(seconds=6)
    r = admin.post(
        "/api/v1/voucher-campaigns",
        json={
            "code": f"T{uuid.uuid4().hex[:8]}",
            "name": "餐饮满减消费券",
            "owner_org_id": root["id"],
            "stock": 3,
            "opens_at": opens.isoformat(),
            "closes_at": (opens + timedelta(hours=1)).isoformat(),
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
    return cid


def test_claim_at_the_opening_use_at_the_till_settle(live: Live, page: Page) -> None:
    cid = _campaign(live)
    phone = member_phone(live)

    # The member: countdown, claim at the opening, the voucher in the wallet (360 px).
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, live, phone)
    page.goto(live.url + "/m/vouchers")
    card = page.locator(f'[data-campaign="{cid}"]')
    expect(card.get_by_role("heading", name="餐饮满减消费券")).to_be_visible()
    button = card.get_by_role("button", name="立即领取")
    expect(button).to_be_disabled()
    shot(page, "voucher-till-countdown-360")
    expect(button).to_be_enabled(timeout=15_000)
    button.click()
    page.wait_for_url("**/m/vouchers?claimed=1#wallet")
    wallet = page.locator("#my-vouchers [data-voucher]")
    expect(wallet).to_have_count(1)
    expect(wallet.first.get_by_text("可使用")).to_be_visible()
    assert no_horizontal_scroll(page)
    shot(page, "voucher-till-wallet-360")

    # The till: the scan offers the voucher with the bill's discount; the cashier uses it.
    till = page.context.browser.new_page() if page.context.browser else page
    till.set_viewport_size({"width": 360, "height": 780})
    sign_in_till(till, live, terminal(live, "dining")["key"])

    def token() -> str:  # a fresh rotating code, as the member's phone shows it
        r = page.request.get(live.url + "/api/v1/me/card/token")
        assert r.ok, r.text()
        return str(r.json()["text"])

    wedge_scan(till, token(), amount="88")
    voucher = till.locator(".shop-voucher")
    expect(voucher).to_have_count(1)
    expect(voucher).to_contain_text("餐饮满减消费券")
    expect(voucher.locator(".shop-quote")).to_contain_text("¥15.00")
    shot(till, "voucher-till-scan-360")
    form = voucher.locator("form")
    fields = form.evaluate("f => Object.fromEntries(new FormData(f))")
    voucher.get_by_role("button", name="使用消费券 · 餐饮满减消费券").click()
    done = till.locator("[data-voucher-use]")
    expect(done).to_contain_text("消费券核销成功")
    expect(done).to_contain_text("¥73.00")  # 88 − 15
    expect(done).to_contain_text("工会补贴（结算给本店）")
    shot(till, "voucher-till-used-360")
    # The same form posted again (a resubmit): the same use, not a second one.
    again = till.request.post(live.url + "/shop/vouchers/redeem", form=fields)
    assert again.status == 200 and "这张消费券已经核销过" in again.text()
    # Voided at the till (customer cancelled): the voucher goes back to the member.
    done.get_by_text("撤销这次用券").click()
    done.get_by_role("button", name="确认撤销").click()
    expect(till.locator("[data-outcome='voided']")).to_contain_text("消费券已退回会员")
    shot(till, "voucher-till-voided-360")
    # The next scan offers it again; used now, a further scan no longer offers it.
    wedge_scan(till, token(), amount="88")
    expect(till.locator(".shop-voucher")).to_have_count(1)
    till.locator(".shop-voucher").get_by_role("button", name="使用消费券 · 餐饮满减消费券").click()
    expect(till.locator("[data-voucher-use] [data-outcome='ok']")).to_contain_text("消费券核销成功")
    wedge_scan(till, token(), amount="88")
    expect(till.locator(".shop-member")).to_contain_text("会员卡有效")
    expect(till.locator(".shop-voucher")).to_have_count(0)

    # The member's wallet says used.
    page.goto(live.url + "/m/vouchers")
    used = page.locator("#my-vouchers [data-voucher]").first
    expect(used).to_have_attribute("data-status", "used")
    expect(used).to_contain_text("已使用")
    shot(page, "voucher-till-wallet-used-360")

    # The settlement page: the voucher line and the subsidy owed to the restaurant.
    month = datetime.now(ZONE).strftime("%Y-%m")
    staff_page = page.context.browser.new_page() if page.context.browser else page
    console.sign_in(staff_page, live, "yc.merchants", f"/console/settlements?month={month}")
    line = staff_page.locator("#settlements [data-kind='voucher']")
    expect(line).to_have_count(1)
    expect(line).to_contain_text("消费券")
    expect(line).to_contain_text("1 笔 ¥15.00")
    shot(staff_page, "voucher-till-settlement")
