"""Member sign-in on /m/login: a wrong code and a bad phone are told beside their fields."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support.member_steps import NEW_PHONE, sign_in


def test_wrong_code_is_told_beside_the_code_field(live: Live, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live.url + "/m/card")  # not signed in: sent to sign in first
    expect(page).to_have_url(live.url + "/m/login?next=/m/card")
    page.get_by_label("手机号").fill("12345")
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("#e-phone")).to_be_visible()
    expect(page.get_by_label("手机号")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("手机号").fill(NEW_PHONE)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_text("验证码已发送，5 分钟内有效。")).to_be_visible()
    right = live.sign_in_code("+86" + NEW_PHONE)
    wrong = "000000" if right != "000000" else "111111"
    page.get_by_label("验证码").fill(wrong)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#e-code")).to_have_text("验证码错误或已过期")
    expect(page.get_by_label("验证码")).to_have_attribute("aria-invalid", "true")
    assert no_horizontal_scroll(page)
    shot(page, "member-login-wrong-code")

    page.get_by_label("验证码").fill(right)  # the code survives one wrong guess
    page.get_by_role("button", name="登录").click()
    # Signed in but not a member yet: the page asked for comes after sign-in, and a
    # non-member's card page leads to the join form.
    page.wait_for_url(live.url + "/m/join")
    expect(page.get_by_role("heading", name="申请入会")).to_be_visible()


def test_sign_out(live: Live, page: Page) -> None:
    member = live.demo["members"][0]
    sign_in(page, live, member["phone"].removeprefix("+86"))
    page.goto(live.url + "/m/account")
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(live.url + "/m/login")
    page.goto(live.url + "/m/benefits")
    expect(page).to_have_url(live.url + "/m/login?next=/m/benefits")
