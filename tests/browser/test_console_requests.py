"""Transfers and leaving filed on the phone, handled in the console: the receiving union
approves or refuses with a reason, the union the member leaves sees the same request and its
status, and members who left themselves are listed for their union."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live
from tests.browser.membership_steps import look, phone_client, union_id
from tests.support.console import sign_in


def _xl_members(live: Live) -> list[dict[str, str]]:
    return [m for m in live.demo["members"] if m["union"].startswith("XL-")]


def test_transfer_refused_then_approved_both_sides_see_it(live: Live, page: Page) -> None:
    first, second = _xl_members(live)[:2]
    requests, phones = {}, {}
    for m in (first, second):
        phone = phones[m["member_no"]] = phone_client(live, m["phone"])
        to = union_id(phone, "伍家岗区灵活就业")
        resp = phone.post("/api/v1/me/transfers", json={"to_org_id": to, "note": "换了工作"})
        assert resp.status_code == 201, resp.text
        requests[m["member_no"]] = resp.json()["id"]

    # The union the member leaves sees the request and that it waits for the other side.
    sign_in(page, live, "xl.admin", "/console/requests")
    row = page.locator(f"#transfer-{requests[first['member_no']]}")
    expect(row).to_contain_text("伍家岗区灵活就业人员联合工会")
    expect(row).to_contain_text("等待转入工会审批")
    expect(row.get_by_role("button", name="同意转入")).to_have_count(0)

    # The receiving union decides: a refusal needs a reason, shown next to the field.
    page.context.clear_cookies()
    sign_in(page, live, "wjg.admin", "/console/requests")
    nav = page.get_by_role("navigation", name="后台导航")
    expect(nav.get_by_role("link", name="转会离会")).to_have_attribute("aria-current", "page")
    refused = page.locator(f"#transfer-{requests[first['member_no']]}")
    refused.get_by_text("不同意").click()
    refused.get_by_role("button", name="确认").click()
    expect(refused.locator(".field-error")).to_contain_text("原因")
    refused.get_by_label("原因（会员可见）").fill("本工会只接收灵活就业人员")
    refused.get_by_role("button", name="确认").click()
    expect(refused.get_by_text("未批准")).to_be_visible()
    expect(refused).to_contain_text("本工会只接收灵活就业人员")
    approved = page.locator(f"#transfer-{requests[second['member_no']]}")
    look(page, "requests-pending")
    approved.get_by_role("button", name="同意转入").click()
    expect(approved.get_by_text("已批准")).to_be_visible()

    # The member sees the outcome on the phone; the leaving union sees both decisions.
    mine = phones[first["member_no"]].get("/api/v1/me/transfers").json()
    assert mine[0]["status"] == "rejected" and mine[0]["reason"] == "本工会只接收灵活就业人员"
    page.context.clear_cookies()
    sign_in(page, live, "xl.admin", "/console/requests?status=rejected")
    expect(page.locator(f"#transfer-{requests[first['member_no']]}")).to_contain_text("未批准")
    page.get_by_role("link", name="已批准").click()
    expect(page.locator(f"#transfer-{requests[second['member_no']]}")).to_contain_text("已批准")
    look(page, "requests-from-side")


def test_member_who_left_on_the_phone_is_listed(live: Live, page: Page) -> None:
    m = _xl_members(live)[2]
    resp = phone_client(live, m["phone"]).post("/api/v1/me/leave", json={"reason": "回老家了"})
    assert resp.status_code == 200, resp.text
    sign_in(page, live, "xl.admin", "/console/requests")
    row = page.locator("#leaves tbody tr", has_text=m["member_no"])
    expect(row).to_contain_text("回老家了")
    look(page, "requests-leaves")
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", name=m["name"])).to_be_visible()
    expect(page.locator(".page-head .badge")).to_have_text("已离会")
    # Another district's union does not see it.
    page.context.clear_cookies()
    sign_in(page, live, "wjg.admin", "/console/requests")
    expect(page.locator("#leaves tbody tr", has_text=m["member_no"])).to_have_count(0)
