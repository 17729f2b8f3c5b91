"""Transfer (转会) and leaving on the member's "Me" page."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support.member_steps import sign_in, staff


def test_transfer_request_then_approved_by_the_new_union(live: Live, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    member = next(m for m in live.demo["members"] if m["union"].startswith("XL-"))
    sign_in(page, live, member["phone"])
    page.goto(live.url + "/m/account")
    # 我的 holds no inline forms: each action is a page of its own.
    expect(page.locator("form#transfer-form, form#leave-form")).to_have_count(0)
    expect(page.locator("button.danger")).to_have_count(0)
    shot(page, "member-account")
    page.get_by_role("link", name="申请转会").click()
    page.wait_for_url(live.url + "/m/account/transfer")
    page.get_by_role("button", name="下一步").click()
    expect(page.locator("#e-to_org_id")).to_have_text("请选择要转入的工会")

    # Typed key by key: the form was just swapped in with its errors, and htmx may still be
    # wiring the search box when the first key lands (a person types slower than that).
    page.get_by_label("工会或单位名称").press_sequentially("物流", delay=150)
    expect(page.locator("#to_org_id-list li")).to_have_count(1, timeout=10_000)
    page.get_by_label("宜昌三峡物流园有限公司工会").check()
    page.get_by_label("说明（选填）").fill("换到物流园上班")
    page.get_by_role("button", name="下一步").click()
    # A confirmation first: nothing is sent until the member says so.
    expect(page.get_by_role("heading", name="请确认转会申请")).to_be_visible()
    expect(page.locator("#confirm-to")).to_have_text("宜昌三峡物流园有限公司工会")
    shot(page, "member-transfer-confirm")
    page.get_by_role("button", name="返回修改").click()
    expect(page.get_by_label("宜昌三峡物流园有限公司工会")).to_be_checked()
    expect(page.get_by_label("说明（选填）")).to_have_value("换到物流园上班")
    page.get_by_role("button", name="下一步").click()
    page.get_by_role("button", name="确认提交").click()
    page.wait_for_url(live.url + "/m/account")
    transfer = page.locator(".m-transfer").first
    expect(transfer).to_contain_text("宜昌三峡物流园有限公司工会")
    expect(transfer).to_contain_text("待转入工会审核")
    expect(page.get_by_role("link", name="申请转会")).to_have_count(0)  # one at a time
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
    page.get_by_role("link", name="申请离会").click()
    page.wait_for_url(live.url + "/m/account/leave")
    expect(page.get_by_role("heading", name="申请离会")).to_be_visible()
    page.get_by_label("离会原因（选填）").fill("回老家发展")
    page.get_by_role("button", name="确认离会").click()
    expect(page.locator("#e-confirm")).to_have_text("请勾选确认：离会后会员卡将注销")
    expect(page.get_by_label("离会原因（选填）")).to_have_value("回老家发展")
    assert no_horizontal_scroll(page)
    shot(page, "member-leave-page")
    # Changing one's mind is one tap away, and nothing happened.
    page.get_by_role("link", name="不离会了，返回").click()
    page.wait_for_url(live.url + "/m/account")
    expect(page.get_by_text("正常")).to_be_visible()

    page.get_by_role("link", name="申请离会").click()
    page.get_by_label("我确认离会，会员卡将被注销").check()
    page.get_by_role("button", name="确认离会").click()
    page.wait_for_url(live.url + "/m/account")
    expect(page.get_by_text("已离会")).to_be_visible()
    expect(page.get_by_role("link", name="重新入会")).to_be_visible()
    expect(page.get_by_role("link", name="申请离会")).to_have_count(0)
    shot(page, "member-account-left")
    page.goto(live.url + "/m/card")
    expect(page.get_by_role("alert")).to_contain_text("您已离会，会员卡已注销")
    expect(page.locator("#qr")).to_have_count(0)


def test_download_my_data(live: Live, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    member = live.demo["members"][0]
    sign_in(page, live, member["phone"])
    page.goto(live.url + "/m/account")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载我的数据").click()
    saved = download.value
    assert saved.suggested_filename == f"member-{member['member_no']}-data.json"
    doc = json.loads(Path(saved.path()).read_text(encoding="utf-8"))
    assert doc["member"]["member_no"] == member["member_no"]
    assert doc["member"]["phone"].endswith(member["phone"][-11:])  # decrypted: their own
    # Audited like the API's export, with the member as the actor.
    officer = staff(live, "admin")
    audit = officer.get("/api/v1/audit", params={"action": "member.privacy_export"}).json()
    assert any(e["summary"].get("by") == "member" for e in audit["items"])
