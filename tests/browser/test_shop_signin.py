"""Signing the till in and out: the terminal key is checked like the API's Bearer key and kept
server-side (an HttpOnly cookie only); a wrong, revoked or suspended key gets a clear message."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, shot
from tests.support.shop import (
    Member,
    Staff,
    member_phone,
    sign_in_till,
    terminal,
    wedge_scan,
)


def test_wrong_keys_are_refused_with_a_message(live: Live, page: Page) -> None:
    page.goto(live.url + "/shop/today")
    expect(page).to_have_url(re.compile(r"/shop/login\?next=/shop/today$"))
    key_input = page.get_by_label("终端密钥")
    key_input.fill("uck_abcdefgh_" + "A" * 40)  # well-formed, but no such key
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("终端密钥无效或已吊销")
    expect(page.get_by_label("终端密钥")).to_have_attribute("aria-invalid", "true")
    shot(page, "shop-login-wrong-key")
    page.get_by_label("终端密钥").fill("not-a-key")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("终端密钥格式不正确")
    # A real key's prefix with another secret is no better than an unknown one.
    real = terminal(live, "dining")["key"]
    page.get_by_label("终端密钥").fill(real[:-4] + "ZZZZ")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("终端密钥无效或已吊销")
    assert not [c for c in page.context.cookies() if c["name"] == "uc_shop"]
    page.goto(live.url + "/shop/")
    expect(page).to_have_url(re.compile(r"/shop/login"))


def test_the_key_stays_on_the_server(live: Live, page: Page) -> None:
    key = terminal(live, "cinema")["key"]
    sign_in_till(page, live, key)
    expect(page.locator(".shop-where")).to_contain_text("三峡影城")
    [cookie] = [c for c in page.context.cookies() if c["name"] == "uc_shop"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert key not in cookie["value"] and key not in page.content()
    assert page.evaluate("document.cookie").find("uc_shop") == -1
    storage = page.evaluate("JSON.stringify(localStorage) + JSON.stringify(sessionStorage)")
    assert key not in storage
    # Back to the page the sign-in interrupted; signing out ends the server-side session.
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(re.compile(r"/shop/login$"))
    page.goto(live.url + "/shop/today")
    expect(page).to_have_url(re.compile(r"/shop/login\?next=/shop/today$"))
    page.get_by_label("终端密钥").fill(key)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/shop/today$"))


def test_mutations_need_the_csrf_token(live: Live, page: Page) -> None:
    sign_in_till(page, live, terminal(live, "cinema")["key"])
    # The session cookie alone (what a cross-site form would send) is not enough.
    r = page.request.post(live.url + "/shop/scan", form={"code": "UC1AAAA"})
    assert r.status == 403 and "csrf_failed" in r.text()
    r = page.request.post(
        live.url + "/shop/scan",
        form={"code": "UC1AAAA"},
        headers={"HX-Request": "true", "X-CSRF-Token": "wrong"},
    )
    assert r.status == 403


def test_a_key_revoked_after_sign_in_stops_the_till(live: Live, page: Page) -> None:
    t = terminal(live, "cinema")
    sign_in_till(page, live, t["key"])
    staff = Staff(live)
    keys = staff.get(f"/api/v1/terminals/{t['terminal_id']}")["keys"]
    [key] = [k for k in keys if t["key"].startswith(k["prefix"])]
    staff.post(f"/api/v1/terminals/{t['terminal_id']}/keys/{key['id']}/revoke", {"reason": "测试"})
    staff.close()
    member = Member(live, member_phone(live))
    wedge_scan(page, member.token())  # an htmx request: the whole page goes to sign-in
    expect(page).to_have_url(re.compile(r"/shop/login"))
    page.get_by_label("终端密钥").fill(t["key"])
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("终端密钥无效或已吊销")
    member.close()


def test_a_suspended_merchant_is_told_why(live: Live, page: Page) -> None:
    t = terminal(live, "cinema")
    sign_in_till(page, live, t["key"])
    staff = Staff(live)
    staff.post(f"/api/v1/merchants/{t['merchant_id']}/suspend", {"reason": "整改"})
    member = Member(live, member_phone(live))
    wedge_scan(page, member.token())
    expect(page.locator("#result [data-outcome='refused']")).to_contain_text("商户已暂停或终止合作")
    expect(page.locator(".shop-benefit")).to_have_count(0)
    staff.post(f"/api/v1/merchants/{t['merchant_id']}/resume", {"reason": "整改完成"})
    wedge_scan(page, member.token())
    expect(page.locator(".shop-benefit[data-program='YC-CINEMA']")).to_be_visible()
    staff.close()
    member.close()


def test_english_is_selectable(live: Live, page: Page) -> None:
    sign_in_till(page, live, terminal(live, "cinema")["key"])
    page.get_by_role("link", name="English").click()
    expect(page.get_by_label("Member's code")).to_be_visible()
    member = Member(live, member_phone(live))
    page.get_by_label("Member's code").focus()
    page.keyboard.type(member.token())
    page.keyboard.press("Enter")
    expect(page.locator(".shop-benefit")).to_contain_text("left: 2 units")
    shot(page, "shop-scan-result-en")
    member.close()
