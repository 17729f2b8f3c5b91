"""Merchants, stores and terminal keys: onboarding with field errors, a key shown once that
works on the terminal API, rotation and revocation."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, shot
from tests.support.console import sign_in

GOOD_USCC = "91420502MA4F3XL02G"


def test_onboard_merchant_store_terminal_key_once(live: Live, page: Page) -> None:
    sign_in(page, live, "yc.merchants", "/console/merchants/new")
    form = page.locator("#merchant-form")
    form.get_by_label("所属组织").select_option(label="宜昌市总工会")
    form.get_by_label("招牌名称").fill("江边小馆")
    form.get_by_label("营业执照名称").fill("宜昌江边小馆餐饮有限公司")
    form.get_by_label("统一社会信用代码").fill("91420502MA4F3XL02X")  # wrong check character
    form.get_by_label("类别").select_option("dining")
    form.get_by_label("地区代码（6 位）").fill("420502")
    form.get_by_label("联系人").fill("江师傅")
    form.get_by_label("联系电话").fill("13907170009")
    form.get_by_role("button", name="保存").click()
    expect(page.locator('[id="e-uscc"]')).to_contain_text("校验位")
    shot(page, "console-merchant-validation")
    page.locator("#merchant-form").get_by_label("统一社会信用代码").fill(GOOD_USCC)
    page.locator("#merchant-form").get_by_role("button", name="保存").click()
    expect(page.get_by_role("heading", name="江边小馆")).to_be_visible()

    store = page.locator("#store-form")
    store.get_by_label("门店名称").fill("江边小馆(滨江店)")
    store.get_by_label("地址").fill("宜昌市西陵区滨江路 1 号")
    store.get_by_label("地区代码（6 位）").fill("420502")
    store.get_by_role("button", name="添加门店").click()
    expect(page.get_by_role("heading", name="江边小馆(滨江店)")).to_be_visible()

    page.get_by_label("新终端名称").fill("1 号收银台")
    page.get_by_role("button", name="添加终端并生成密钥").click()
    key = page.locator("#plain-key").inner_text().strip()
    assert len(key) > 20
    shot(page, "console-merchant-terminal-key")
    who = httpx.get(live.url + "/api/v1/terminal", headers={"Authorization": f"Bearer {key}"})
    assert who.status_code == 200, who.text
    assert who.json()["merchant_name"] == "江边小馆"

    # Shown once: reloading the page shows only the prefix.
    page.reload()
    expect(page.locator("#plain-key")).to_have_count(0)
    assert key not in page.content()

    page.get_by_role("button", name="更换密钥").click()
    new_key = page.locator("#plain-key").inner_text().strip()
    assert new_key != key
    old = httpx.get(live.url + "/api/v1/terminal", headers={"Authorization": f"Bearer {key}"})
    assert old.status_code == 401  # no grace period by default
    page.once("dialog", lambda d: d.accept())
    page.locator(".key-line", has_text="有效").get_by_role("button", name="撤销").click()
    expect(page.locator(".key-line", has_text="有效")).to_have_count(0)
    gone = httpx.get(live.url + "/api/v1/terminal", headers={"Authorization": f"Bearer {new_key}"})
    assert gone.status_code == 401


def test_merchant_list_read_only_for_auditor(live: Live, page: Page) -> None:
    sign_in(page, live, "hb.auditor", "/console/merchants")
    rows = page.locator("#merchants tbody tr")
    expect(rows.first).to_be_visible()
    expect(page.get_by_role("link", name="新增商户")).to_have_count(0)
    shot(page, "console-merchants")
    rows.first.get_by_role("link").first.click()
    expect(page.get_by_role("button", name="更换密钥")).to_have_count(0)
    shot(page, "console-merchant")
