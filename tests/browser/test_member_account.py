"""Transfer (转会) and leaving on the member's "Me" page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support.member_steps import sign_in, staff


def test_transfer_request_then_approved_by_the_new_union(live: Live, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    member = next(m for m in live.demo["members"] if m["union"].startswith("XL-"))
    sign_in(page, live, member["phone"])
    page.goto(live.url + "/m/account")
    expect(page.get_by_role("heading", name="转会申请")).to_be_visible()
    page.get_by_role("button", name="提交转会申请").click()
    expect(page.locator("#e-to_org_id")).to_have_text("请选择要转入的工会")

    # Typed key by key: the form was just swapped in with its errors, and htmx may still be
    # wiring the search box when the first key lands (a person types slower than that).
    page.get_by_label("搜索工会", exact=True).press_sequentially("物流", delay=150)
    expect(page.locator("#transfer-unions li")).to_have_count(1, timeout=10_000)
    page.get_by_label("宜昌三峡物流园有限公司工会").check()
    page.get_by_label("说明（选填）").fill("换到物流园上班")
    page.get_by_role("button", name="提交转会申请").click()
    transfer = page.locator(".m-transfer").first
    expect(transfer).to_contain_text("宜昌三峡物流园有限公司工会")
    expect(transfer).to_contain_text("待转入工会审核")
    expect(page.get_by_role("button", name="提交转会申请")).to_have_count(0)  # one at a time
    assert no_horizontal_scroll(page)
    shot(page, "member-account-transfer")

    # The receiving union decides. console page: see tests/browser/test_console_*.py
    officer = staff(live, "wjg.admin")
    pending = officer.get("/api/v1/approvals/transfers").json()["items"]
    tid = next(t["id"] for t in pending if t["member_no"] == member["member_no"])
    assert officer.post(f"/api/v1/approvals/transfers/{tid}/approve").status_code == 200
    page.reload()
    expect(page.locator("#my-union")).to_have_text("宜昌三峡物流园有限公司工会")
    expect(page.locator(".m-transfer").first).to_contain_text("已转入")
    page.get_by_role("link", name="会员卡", exact=True).click()
    expect(page.locator(".m-card-union")).to_have_text("宜昌三峡物流园有限公司工会")


def test_leaving_needs_a_confirmation_and_revokes_the_card(live: Live, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    member = live.demo["members"][3]
    sign_in(page, live, member["phone"])
    page.goto(live.url + "/m/account")
    page.get_by_label("离会原因（选填）").fill("回老家发展")
    page.get_by_role("button", name="申请离会").click()
    expect(page.locator("#e-confirm")).to_have_text("请勾选确认：离会后会员卡将注销")
    expect(page.get_by_label("离会原因（选填）")).to_have_value("回老家发展")
    page.get_by_label("我确认离会，会员卡将被注销").check()
    page.get_by_role("button", name="申请离会").click()
    expect(page.get_by_text("已离会")).to_be_visible()
    expect(page.get_by_role("link", name="重新入会")).to_be_visible()
    shot(page, "member-account-left")
    page.goto(live.url + "/m/card")
    expect(page.get_by_role("alert")).to_contain_text("您已离会，会员卡已注销")
    expect(page.locator("#qr")).to_have_count(0)
