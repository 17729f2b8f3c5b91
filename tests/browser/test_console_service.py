"""The service-request queue with overdue and escalated items, handling a request, and the
hardship records (only for the roles that may see them)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, shot
from tests.support.console import sign_in


def test_queue_shows_overdue_and_escalated_requests(live: Live, page: Page) -> None:
    sign_in(page, live, "yc.admin", "/console/service")
    expect(page.locator("#service-queue tbody tr").first).to_be_visible()
    shot(page, "console-service-queue")
    page.locator('a[data-tab="overdue"]').click()
    rows = page.locator("#service-queue tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() == page.locator('#service-queue tr[data-overdue="true"]').count()
    page.locator('a[data-tab="escalated"]').click()
    expect(page.locator('#service-queue tr[data-escalated="true"]').first).to_be_visible()
    page.locator("#service-queue tbody tr a").first.click()
    expect(page.get_by_text("已上报至")).to_be_visible()
    shot(page, "console-service-request")


def test_accept_handle_and_resolve_a_request(live: Live, page: Page) -> None:
    """One action form at a time, only those the request's state allows."""
    sign_in(page, live, "xl.admin", "/console/service")
    row = page.locator("#service-queue tbody tr", has_text="待受理").first
    row.get_by_role("link").first.click()
    picker = page.locator("#action-picker")
    expect(picker.get_by_role("link")).to_have_text(["受理", "不予受理", "上级接办"])
    expect(page.locator("form.act")).to_have_count(1)
    expect(page.get_by_role("button", name="办结")).to_have_count(0)
    shot(page, "console-service-submitted")
    page.get_by_role("button", name="受理", exact=True).click()
    expect(page.locator("#request-status")).to_have_text("办理中")
    expect(picker.get_by_role("link")).to_have_text(
        ["记录线下办理", "办结", "请求补充材料", "不予受理", "上级接办"]
    )
    expect(page.locator("form.act")).to_have_count(1)
    page.get_by_label("情况说明").fill("电话联系会员，了解情况")
    page.get_by_role("button", name="记录").click()
    expect(page.locator("#timeline")).to_contain_text("电话联系会员，了解情况")
    picker.get_by_role("link", name="办结").click()
    expect(page.locator("form.act")).to_have_count(1)
    page.get_by_role("button", name="办结").click()  # no outcome: refused, shown in #flash
    expect(page.locator("#flash .alert-error")).to_be_visible()
    expect(page.locator("#flash li")).to_have_text("办理结果：不能为空")
    shot(page, "console-service-resolve-refused")
    page.get_by_label("办理结果（会员可见）").fill("已协调解决")
    page.get_by_role("button", name="办结").click()
    expect(page.locator("#request-status")).to_have_text("已办结")
    expect(picker.get_by_role("link")).to_have_text(["重新办理"])
    expect(page.locator("dl.kv")).not_to_contain_text("in_app")


def test_hardship_records_for_the_roles_that_may_see_them(live: Live, page: Page) -> None:
    sign_in(page, live, "hb.auditor")
    nav = page.get_by_role("navigation", name="后台导航")
    expect(nav.get_by_role("link", name="困难职工档案")).to_have_count(0)
    resp = page.goto(live.url + "/console/hardship")
    assert resp is not None and resp.status == 403
    page.context.clear_cookies()

    sign_in(page, live, "yc.admin", "/console/hardship")
    rows = page.locator("#hardship tbody tr")
    expect(rows.first).to_be_visible()
    shot(page, "console-hardship")
    # The demo's queue holds a pending record too: take an approved one.
    rows.filter(has_text="有效").first.get_by_role("link").first.click()
    expect(page.locator("#record-status")).to_have_text("有效")
    page.get_by_role("button", name="注销档案").click()  # no reason
    expect(page.locator("#flash")).to_contain_text("请填写注销原因")
    page.get_by_label("注销原因（已脱困等）").fill("家庭收入已恢复")
    page.get_by_role("button", name="注销档案").click()
    expect(page.locator("#record-status")).to_have_text("已终止")
    shot(page, "console-hardship-record")
