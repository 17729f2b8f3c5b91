"""The audit log reads as sentences: actions, objects and details in words, no machine names."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, shot
from tests.support.console import sign_in
from tests.support.visible import raw_names


def test_audit_log_in_words(live: Live, page: Page) -> None:
    sign_in(page, live, "admin", "/console/audit")
    table = page.locator("#audit")
    expect(table.locator("tbody tr").first).to_be_visible()
    text = table.inner_text()
    assert not raw_names(text, frozenset(s["username"] for s in live.demo["staff"])), raw_names(
        text
    )
    assert not re.search(r"\b[a-z]+\.[a-z_]+\b", text.replace("xl.admin", "")), text[:400]
    expect(table).to_contain_text("登录")  # staff.login, as a person says it
    shot(page, "console-audit")
    # A row's action filters the log to that action.
    first = table.locator("tbody tr").first
    action = first.get_attribute("data-action")
    first.locator("td").nth(2).get_by_role("link").click()
    expect(page.locator("#audit tbody tr").first).to_have_attribute("data-action", action or "")
    page.get_by_label("对象类型").select_option(label="服务申请")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#audit tbody tr, .empty").first).to_be_visible()
