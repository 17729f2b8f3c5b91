"""The service-request and hardship reports on the console's reports page: a scope and a
period chosen like any report, figures and tables shown, the same export as the API."""

from __future__ import annotations

from datetime import date

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support.console import sign_in


def test_service_and_hardship_reports_with_parameters(live: Live, page: Page) -> None:
    sign_in(page, live, "yc.admin", "/console/reports")
    tabs = page.locator("nav.tabs")
    tabs.get_by_role("link", name="服务申请").click()
    expect(page.locator(".stat", has_text="期间受理申请")).to_be_visible()
    expect(page.locator(".stat", has_text="当前超时")).to_be_visible()
    expect(page.get_by_role("heading", name="按类别")).to_be_visible()

    # Parameters: another scope and period, kept on the page and in the export link.
    page.get_by_label("范围").select_option(label="宜昌市总工会")
    year = date.today().year
    page.get_by_label("开始日期").fill(f"{year}-01-01")
    page.get_by_role("button", name="查看").click()
    expect(page.get_by_label("开始日期")).to_have_value(f"{year}-01-01")
    assert "report=service-requests" in page.url
    href = page.locator("#export-csv").get_attribute("href") or ""
    assert href.startswith("/api/v1/reports/service-requests?") and f"from={year}-01-01" in href
    with page.expect_download() as info:
        page.locator("#export-csv").click()
    assert "按类别" in info.value.path().read_text(encoding="utf-8-sig")
    assert no_horizontal_scroll(page)
    shot(page, "console-report-service-requests")

    tabs.get_by_role("link", name="困难帮扶").click()
    expect(page.locator(".stat", has_text="在册困难职工")).to_be_visible()
    expect(page.locator(".stat", has_text="待审批建档")).to_be_visible()
    with page.expect_download() as info:
        page.locator("#export-xlsx").click()
    assert info.value.path().read_bytes()[:2] == b"PK"
    expect(page.locator(".report-section", has_text="在册困难职工")).not_to_contain_text("relative")
    shot(page, "console-report-hardship")
