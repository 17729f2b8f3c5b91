"""Member sign-in on /m/login: the user agreement and privacy notice to accept (their versions
recorded), a countdown before another code, and errors beside their fields."""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from cardsvc.pages.member.terms import AGREEMENT, PRIVACY
from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support.member_steps import NEW_PHONE, sign_in


def test_wrong_code_is_told_beside_the_code_field(live: Live, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live.url + "/m/card")  # not signed in: sent to sign in first
    expect(page).to_have_url(live.url + "/m/login?next=/m/card")
    # Nothing to "send again" before any code was sent.
    expect(page.get_by_text("重新获取")).to_have_count(0)
    page.get_by_label("手机号").fill("12345")
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("#e-phone")).to_be_visible()
    expect(page.get_by_label("手机号")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("重新获取")).to_have_count(0)  # a refused phone sent nothing

    page.get_by_label("手机号").fill(NEW_PHONE)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_text("验证码已发送，5 分钟内有效。")).to_be_visible()
    # 60 s before another code: the button counts down, switched off.
    send = page.locator("#send-code")
    expect(send).to_be_disabled()
    expect(send).to_have_text(re.compile(r"重新获取（(60|59|58) 秒）"))
    page.wait_for_timeout(1500)
    expect(send).to_have_text(re.compile(r"重新获取（5\d 秒）"))
    shot(page, "member-login-countdown")

    right = live.sign_in_code("+86" + NEW_PHONE)
    wrong = "000000" if right != "000000" else "111111"
    page.get_by_label("验证码").fill(wrong)
    page.get_by_role("button", name="登录").click()
    # The agreement first: nothing is checked until it is accepted.
    expect(page.locator("#e-accept")).to_have_text("请阅读并同意用户协议和隐私政策")
    expect(page.locator("#send-code")).to_contain_text("重新获取")  # a code was sent
    page.get_by_label("我已阅读并同意").check()
    page.get_by_label("验证码").fill(wrong)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#e-code")).to_have_text("验证码错误或已过期")
    expect(page.get_by_label("验证码")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("我已阅读并同意")).to_be_checked()
    expect(page.locator("#send-code")).to_be_disabled()  # still counting down
    assert no_horizontal_scroll(page)
    shot(page, "member-login-wrong-code")

    page.get_by_label("验证码").fill(right)  # the code survives one wrong guess
    page.get_by_role("button", name="登录").click()
    # Signed in but not a member yet: the page asked for comes after sign-in, and a
    # non-member's card page leads to the join form.
    page.wait_for_url(live.url + "/m/join")
    expect(page.get_by_role("heading", name="申请入会")).to_be_visible()


def test_the_agreements_are_pages_and_their_versions_are_kept(live: Live, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live.url + "/m/login")
    for link, heading, words in (
        ("《用户协议》", "用户协议", "验证码请勿告诉他人"),
        ("《隐私政策》", "隐私政策", "加密保存"),
    ):
        with page.context.expect_page() as opened:
            page.get_by_role("link", name=link).click()
        doc = opened.value
        doc.set_viewport_size({"width": 360, "height": 740})
        expect(doc.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        expect(doc.locator("#terms")).to_contain_text(words)
        expect(doc.locator("#terms")).to_contain_text("版本")
        assert no_horizontal_scroll(doc)
        shot(doc, f"member-terms-{heading}")
        doc.close()

    member = live.demo["members"][0]
    sign_in(page, live, member["phone"])
    # The versions accepted are the member's: their data export lists them.
    page.goto(live.url + "/m/account")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载我的数据").click()
    doc = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    accepted = {c["document"]: c["version"] for c in doc["consents"]}
    assert accepted == {"agreement": AGREEMENT.version, "privacy": PRIVACY.version}


def test_sign_out(live: Live, page: Page) -> None:
    member = live.demo["members"][0]
    sign_in(page, live, member["phone"])
    page.goto(live.url + "/m/account")
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(live.url + "/m/login")
    page.goto(live.url + "/m/benefits")
    expect(page).to_have_url(live.url + "/m/login?next=/m/benefits")
