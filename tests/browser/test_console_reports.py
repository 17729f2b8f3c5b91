"""Reports with export, and the audit log."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, shot
from tests.support.console import sign_in


def test_reports_show_and_export(live: Live, page: Page) -> None:
    sign_in(page, live, "yc.admin", "/console/reports")
    expect(page.locator(".stat", has_text="正常会员总数")).to_be_visible()
    expect(page.get_by_role("heading", name="按基层工会")).to_be_visible()
    shot(page, "console-reports")
    with page.expect_download() as info:
        page.locator("#export-xlsx").click()
    assert info.value.path().read_bytes()[:2] == b"PK"  # an .xlsx (zip) file
    with page.expect_download() as info:
        page.locator("#export-csv").click()
    assert "月份" in info.value.path().read_text(encoding="utf-8-sig")
    page.get_by_role("link", name="项目预算执行").click()
    expect(page.locator(".stat", has_text="项目数")).to_be_visible()
    page.get_by_role("link", name="核销统计").click()
    expect(page.locator(".stat", has_text="核销笔数")).to_be_visible()


def test_member_export_is_audited_and_listed_in_the_audit_log(live: Live, page: Page) -> None:
    sign_in(page, live, "admin", "/console/reports")
    with page.expect_download() as info:
        page.locator("#export-members").click()
    assert info.value.path().read_bytes()[:2] == b"PK"
    page.goto(live.url + "/console/audit")
    rows = page.locator("#audit tbody tr")
    expect(rows.first).to_be_visible()
    page.get_by_label("操作", exact=True).fill("staff.login")
    page.get_by_role("button", name="查询").click()
    expect(page.locator('#audit tr[data-action="staff.login"]').first).to_be_visible()
    assert (
        page.locator("#audit tbody tr").count()
        == page.locator('#audit tr[data-action="staff.login"]').count()
    )
    page.get_by_label("操作", exact=True).fill("")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#audit tbody tr").first).to_be_visible()
    shot(page, "console-audit")


def test_audit_log_is_refused_to_roles_without_it(live: Live, page: Page) -> None:
    sign_in(page, live, "yc.benefits")
    resp = page.goto(live.url + "/console/audit")
    assert resp is not None and resp.status == 403
