"""A merchant's store edited and closed, and a terminal disabled and enabled again, in the
console; the terminal API follows each change at once."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support.console import sign_in


def _works(live: Live, key: str) -> bool:
    resp = httpx.get(live.url + "/api/v1/terminal", headers={"Authorization": f"Bearer {key}"})
    return resp.status_code == 200


def test_terminal_disable_enable_store_edit_close(live: Live, page: Page) -> None:
    sign_in(page, live, "yc.merchants", "/console/merchants")
    page.locator("#merchants tbody tr").first.get_by_role("link").first.click()
    store = page.locator("section.store").first
    store.get_by_role("button", name="更换密钥").first.click()
    key = page.locator("#plain-key").inner_text().strip()
    assert _works(live, key)

    store = page.locator("section.store").first
    row = store.locator("tbody tr").first
    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="停用终端").click()
    expect(store.locator("tbody tr").first.locator(".term-disabled")).to_be_visible()
    assert not _works(live, key)
    store.locator("tbody tr").first.get_by_role("button", name="重新启用").click()
    expect(store.locator("tbody tr").first.locator(".term-disabled")).to_have_count(0)
    assert _works(live, key)

    store.locator("summary", has_text="修改 / 关闭门店").click()
    edit = store.locator("form.store-edit")
    edit.get_by_label("门店名称").fill("滨江旗舰店")
    edit.get_by_label("地区代码（6 位）").fill("999999")
    edit.get_by_role("button", name="保存门店信息").click()
    expect(store.locator("form.store-edit .field-error")).to_be_visible()
    shot(page, "console-store-edit-error")
    store.locator("form.store-edit").get_by_label("地区代码（6 位）").fill("420502")
    store.locator("form.store-edit").get_by_role("button", name="保存门店信息").click()
    expect(page.get_by_role("heading", name="滨江旗舰店")).to_be_visible()

    store = page.locator("section.store", has_text="滨江旗舰店")
    store.locator("summary", has_text="修改 / 关闭门店").click()
    page.once("dialog", lambda d: d.accept())
    store.get_by_label("关闭原因").fill("门店停业")
    store.get_by_role("button", name="关闭门店").click()
    store = page.locator("section.store", has_text="滨江旗舰店")
    expect(store.locator(".store-closed")).to_be_visible()
    expect(store.locator(".term-disabled").first).to_be_visible()
    expect(store.get_by_role("button", name="更换密钥")).to_have_count(0)
    assert not _works(live, key)
    assert no_horizontal_scroll(page)
    shot(page, "console-store-closed")
