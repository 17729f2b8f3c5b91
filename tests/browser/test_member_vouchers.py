"""A voucher campaign's opening as a member sees it: the countdown, the button that wakes at
the opening instant, the claim, and the voucher in the wallet (a second tap changes nothing);
a lottery's entry button that wakes the same way, the entry, and after the draw the win and
the voucher in the wallet. At 360 px wide, with screenshots."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support.member_steps import sign_in, staff


def test_countdown_claim_wallet(live: Live, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    admin = staff(live, "admin")
    root = next(
        o
        for o in admin.get("/api/v1/orgs", params={"limit": 200}).json()["items"]
        if o["code"] == "HB"
    )
    opens = datetime.now(UTC) + timedelta(seconds=8)
    r = admin.post(
        "/api/v1/voucher-campaigns",
        json={
            "code": f"B{uuid.uuid4().hex[:8]}",
            "name": "周末餐饮消费券",
            "owner_org_id": root["id"],
            "stock": 3,
            "opens_at": opens.isoformat(),
            "closes_at": (opens + timedelta(hours=1)).isoformat(),
            "terms": {
                "value": {"kind": "amount_off", "off_fen": 2000, "min_spend_fen": 10000},
                "valid_days": 7,
                "description": "合作餐厅满100元可用",
            },
        },
    )
    assert r.status_code == 201, r.text
    assert admin.post(f"/api/v1/voucher-campaigns/{r.json()['id']}/publish").status_code == 200

    sign_in(page, live, live.demo["members"][0]["phone"])
    page.goto(live.url + "/m/vouchers")
    card = page.locator(f'[data-campaign="{r.json()["id"]}"]')
    expect(card.get_by_role("heading", name="周末餐饮消费券")).to_be_visible()
    expect(card.get_by_text("满100元减20元")).to_be_visible()
    expect(card.get_by_text("距开抢还有")).to_be_visible()
    button = card.get_by_role("button", name="立即领取")
    expect(button).to_be_disabled()
    shot(page, "member-vouchers-countdown")
    assert no_horizontal_scroll(page)

    expect(button).to_be_enabled(timeout=15_000)  # the opening instant
    expect(card.get_by_text("距开抢还有")).to_be_hidden()
    button.click()
    page.wait_for_url("**/m/vouchers?claimed=1#wallet")
    wallet = page.locator("#my-vouchers [data-voucher]")
    expect(wallet).to_have_count(1)
    expect(wallet.first.get_by_text("可使用")).to_be_visible()
    expect(wallet.first.get_by_text("有效期至")).to_be_visible()
    # No scope: every partner store, the directory a tap away.
    expect(wallet.first.get_by_role("link", name="全部合作门店适用，查看附近门店")).to_be_visible()
    shot(page, "member-vouchers-wallet")
    assert no_horizontal_scroll(page)

    # The limit is one per member: another tap says so, and the wallet still holds one.
    page.locator(f'[data-campaign="{r.json()["id"]}"]').get_by_role(
        "button", name="立即领取"
    ).click()
    expect(page.locator('[data-code="voucher_limit"]')).to_have_text("您已领满本活动的消费券")
    page.goto(live.url + "/m/vouchers")
    expect(page.locator("#my-vouchers [data-voucher]")).to_have_count(1)


def test_lottery_entry_draw_and_win(live: Live, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    admin = staff(live, "admin")
    root = next(
        o
        for o in admin.get("/api/v1/orgs", params={"limit": 200}).json()["items"]
        if o["code"] == "HB"
    )
    sign_in(page, live, live.demo["members"][1]["phone"])
    opens = datetime.now(UTC) + timedelta(seconds=10)  # signed in already: time to look
    closes = opens + timedelta(seconds=8)
    r = admin.post(
        "/api/v1/voucher-campaigns",
        json={
            "code": f"L{uuid.uuid4().hex[:8]}",
            "name": "文旅惠民抽签券",
            "owner_org_id": root["id"],
            "mode": "lottery",
            "stock": 1,
            "opens_at": opens.isoformat(),
            "closes_at": closes.isoformat(),
            "terms": {"value": {"kind": "amount_off", "off_fen": 5000}, "valid_days": 30},
        },
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert admin.post(f"/api/v1/voucher-campaigns/{cid}/publish").status_code == 200

    page.goto(live.url + "/m/vouchers")
    card = page.locator(f'[data-campaign="{cid}"]')
    expect(card.get_by_text("抽签", exact=True)).to_be_visible()
    expect(card.get_by_text("距开始报名还有")).to_be_visible()
    expect(card.get_by_role("button", name="立即领取")).to_have_count(0)
    button = card.get_by_role("button", name="报名抽签")
    expect(button).to_be_disabled()
    shot(page, "member-vouchers-lottery-countdown")
    assert no_horizontal_scroll(page)

    expect(button).to_be_enabled(timeout=15_000)  # the opening instant, without a reload
    expect(card.get_by_text("距开始报名还有")).to_be_hidden()
    button.click()
    page.wait_for_url("**/m/vouchers?applied=1*")
    card = page.locator(f'[data-campaign="{cid}"]')
    expect(card.get_by_text("已报名，报名截止后开奖")).to_be_visible()
    expect(card.get_by_role("button", name="报名抽签")).to_have_count(0)
    shot(page, "member-vouchers-lottery-entered")

    wait = (closes - datetime.now(UTC)).total_seconds() + 0.5
    page.wait_for_timeout(max(0.0, wait) * 1000)
    drawn = admin.post(f"/api/v1/voucher-campaigns/{cid}/draw")
    assert drawn.status_code == 200, drawn.text
    page.goto(live.url + "/m/vouchers")
    entry = page.locator(f'#my-lotteries [data-lottery="{cid}"]')
    expect(entry.get_by_text("已中签")).to_be_visible()
    expect(entry.get_by_text("恭喜中签")).to_be_visible()
    won = page.locator("#my-vouchers [data-voucher]").filter(has_text="文旅惠民抽签券")
    expect(won).to_have_count(1)
    expect(won.get_by_text("可使用")).to_be_visible()
    entry.get_by_text("公开验证").click()
    expect(entry.get_by_text(drawn.json()["seed"])).to_be_visible()
    shot(page, "member-vouchers-lottery-won")
    assert no_horizontal_scroll(page)
