"""Bulk approval of join applications: tick several (or all on the page), approve or refuse
with one reason, and read per application whether it worked and why not."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live
from tests.browser.membership_steps import apply, look, staff_api
from tests.support.console import sign_in

APPLICANTS = [
    ("13900002001", "批量甲", "42050219930101001"),
    ("13900002002", "批量乙", "42050219930101002"),
    ("13900002003", "批量丙", "42050219930101003"),
]


def test_bulk_approve_reports_each_row(live: Live, page: Page) -> None:
    ids = [apply(live, phone, name, body) for phone, name, body in APPLICANTS]
    sign_in(page, live, "xl.admin", "/console/approvals")
    for name in ("批量甲", "批量乙", "批量丙"):
        expect(page.locator("#applications tr", has_text=name)).to_be_visible()
    # Meanwhile another officer refuses one of them (through the API).
    staff_api(
        page,
        "POST",
        f"/api/v1/approvals/applications/{ids[0]}/reject",
        data={"reason": "重复申请"},
    )
    for name in ("批量甲", "批量乙", "批量丙"):
        page.get_by_label(f"选择 {name}").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("已选 3 条")
    look(page, "bulk-ticked")
    page.get_by_role("button", name="批量批准").click()
    results = page.locator("#bulk-results")
    expect(results).to_contain_text("成功 2，失败 1")
    failed = results.locator("li", has_text="批量甲")
    expect(failed).to_contain_text("失败")
    expect(failed).to_contain_text("该申请已处理")
    for name in ("批量乙", "批量丙"):
        done = results.locator("li", has_text=name)
        expect(done).to_contain_text("成功")
        expect(done.locator("code")).to_have_text(re.compile(r"^\d+$"))
    # Decided ones leave the pending list.
    expect(page.locator("#applications tr", has_text="批量乙")).to_have_count(0)
    look(page, "bulk-results")


def test_select_all_and_refuse_with_one_reason(live: Live, page: Page) -> None:
    for phone, name, body in APPLICANTS[:2]:
        apply(live, phone, name, body)
    sign_in(page, live, "xl.jidian", "/console/approvals")
    rows = page.locator("#applications tbody tr")
    expect(rows.first).to_be_visible()
    pending = rows.count()
    page.get_by_label("全选本页").check()
    expect(page.locator("[data-bulk-count]")).to_have_text(f"已选 {pending} 条")
    # Refusing needs the reason the applicants will read.
    page.get_by_role("button", name="批量不予批准").click()
    expect(page.locator("#bulk-form .field-error")).to_contain_text("原因")
    expect(page.get_by_label("选择 批量甲")).to_be_checked()  # the ticks survive the error
    page.get_by_label("不予批准原因（申请人可见）").fill("请携带工作证明到工会办理")
    page.get_by_role("button", name="批量不予批准").click()
    results = page.locator("#bulk-results")
    expect(results).to_contain_text(f"成功 {pending}，失败 0")
    expect(page.locator("#applications")).to_have_count(0)
    page.get_by_role("link", name="未批准").click()
    refused = page.locator("#applications tr", has_text="批量乙")
    expect(refused).to_contain_text("请携带工作证明到工会办理")
    look(page, "bulk-refused")
