"""The till at 360×780 as a cashier uses it: the outcome of 核销 in the result card (big, with a
sound), the scan form folded away meanwhile, a used code flagged at scan time, the numeric
one-time code from the member's card page typed or scanned as a barcode, only the fields a
benefit uses (Chinese messages, no browser English), nothing of the federation's internals,
today's totals after a void, and the end-of-day summary on a 58 mm receipt."""

from __future__ import annotations

import io
import re
import shutil
from typing import Any

import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support import member_steps
from tests.support.shop import (
    Member,
    member_phone,
    redeem_button,
    sign_in_till,
    terminal,
    wedge_scan,
)

PHONE: ViewportSize = {"width": 360, "height": 780}


def _shot(page: Page, name: str) -> None:
    shutil.copyfile(shot(page, f"till-{name}"), f"/tmp/till-{name}.png")


def _in_view(page: Page, selector: str) -> bool:
    return bool(
        page.locator(selector).first.evaluate(
            "el => { const r = el.getBoundingClientRect();"
            " return r.top >= 0 && r.top < window.innerHeight; }"
        )
    )


def _beeps(page: Page, count: int) -> list[str]:
    """The till's sounds so far, once ``count`` of them were played (the sound follows the
    outcome's rendering by a moment, so wait for it rather than read at once)."""
    page.wait_for_function(f"(window.uc.shop.beeps || []).length >= {count}")
    return list(page.evaluate("(window.uc.shop.beeps || []).map(b => b.kind)"))


def _till(page: Page, live: Live, category: str = "cinema") -> None:
    page.set_viewport_size(PHONE)
    sign_in_till(page, live, terminal(live, category)["key"])


def test_outcome_in_the_result_card_with_sounds(live: Live, page: Page) -> None:
    member = Member(live, member_phone(live, 2))
    _till(page, live)
    wedge_scan(page, member.token())
    expect(page.locator(".shop-member")).to_contain_text("会员卡有效")
    # The scan form is folded to one line: the benefit and its button are on the first screen.
    expect(page.locator("#scan-box")).to_have_class(re.compile("is-collapsed"))
    expect(page.get_by_label("消费金额（元，可先填）")).to_be_hidden()
    expect(page.get_by_label("会员卡码")).to_be_focused()
    assert _in_view(page, ".shop-benefit[data-program='YC-CINEMA'] button[type=submit]")
    assert no_horizontal_scroll(page)
    _shot(page, "scan-360")

    # Refused (no amount): in the benefit card under the button, in Chinese, with the low beep.
    card = page.locator(".shop-benefit[data-program='YC-CINEMA']")
    redeem_button(page).click()
    refusal = card.locator("[data-outcome='refused']")
    expect(refusal).to_contain_text("未核销")
    expect(refusal).to_contain_text("请输入消费金额（元）")
    expect(page.locator("#flash")).to_be_empty()
    assert _in_view(page, ".shop-benefit[data-program='YC-CINEMA'] [data-outcome='refused']")
    assert card.get_by_label("消费金额（元）").evaluate("el => el.validationMessage") == ""
    assert _beeps(page, 1) == ["refused"]
    _shot(page, "refused-in-card")

    card.get_by_label("消费金额（元）").fill("45")
    redeem_button(page).click()
    ok = page.locator(".shop-done [data-outcome='ok']")
    expect(ok).to_contain_text("核销成功")
    expect(ok).to_contain_text("会员应付")
    assert _in_view(page, ".shop-done [data-outcome='ok']")
    assert _beeps(page, 2) == ["refused", "ok"]
    expect(page.locator("#scan-box")).to_have_class(re.compile("is-collapsed"))
    _shot(page, "done-360")

    # 扫下一位: the form opens again, empty.
    page.get_by_role("button", name="扫下一位").click()
    expect(page.locator("#result")).to_be_empty()
    expect(page.locator("#scan-box")).not_to_have_class(re.compile("is-collapsed"))
    expect(page.get_by_label("消费金额（元，可先填）")).to_be_visible()
    expect(page.get_by_label("会员卡码")).to_be_focused()
    member.close()


def test_used_code_is_flagged_at_scan(live: Live, page: Page) -> None:
    member = Member(live, member_phone(live, 3))
    _till(page, live)
    code = member.token()
    wedge_scan(page, code, amount="45")
    redeem_button(page).click()
    expect(page.locator(".shop-done")).to_contain_text("核销成功")
    wedge_scan(page, code)
    refusal = page.locator("#result [data-outcome='refused']")
    expect(refusal).to_contain_text("不能核销")
    expect(refusal).to_contain_text("该二维码已被使用")
    expect(page.locator("#result")).not_to_contain_text("会员卡有效")
    expect(page.locator("#result button[type=submit]")).to_have_count(0)
    assert _in_view(page, "#result [data-outcome='refused']")
    assert _beeps(page, 2)[-1] == "refused"
    _shot(page, "used-code")
    member.close()


def _member_card_number(browser: Browser, live: Live, phone: str) -> tuple[str, str]:
    """The number under the member's QR and what a 1D scanner reads from its barcode."""
    phone_page = browser.new_page(viewport=PHONE, locale="zh-CN")
    phone_page.clock.install()
    member_steps.sign_in(phone_page, live, phone)
    phone_page.goto(live.url + "/m/card")
    digits = phone_page.locator("#qr-digits")
    expect(digits).to_have_text(re.compile(r"^\d{6} \d{6} \d{6}$"))
    assert _in_view(phone_page, "#qr-digits")  # under the QR, on the first screen
    _shot(phone_page, "member-card-number")
    img = Image.open(io.BytesIO(phone_page.locator("#qr-barcode").screenshot()))
    found = zxingcpp.read_barcodes(
        img, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.Code128)
    )
    assert found, "no Code 128 barcode under the QR"
    number = digits.inner_text()
    # Refreshed with the QR: the next code shows another number (and barcode).
    qr = member_steps.read_qr(phone_page)
    phone_page.clock.run_for(31 * 1000)
    expect(digits).not_to_have_text(number)
    assert member_steps.read_qr(phone_page) != qr
    phone_page.close()
    return number, str(found[0].text)


def test_numeric_code_typed_or_from_a_1d_scanner(live: Live, page: Page, browser: Browser) -> None:
    phone = member_phone(live, 4)
    typed, scanned = _member_card_number(browser, live, phone)
    assert scanned == typed.replace(" ", "")
    _till(page, live)
    # A 1D scanner types the digits and Enter.
    wedge_scan(page, scanned)
    expect(page.locator(".shop-member")).to_contain_text("会员卡有效")
    card_tail = next(
        c["number"][-4:]
        for c in live.demo["cards"]
        if c["member_no"] == live.demo["members"][4]["member_no"]
    )
    expect(page.locator(".shop-member .shop-cardno")).to_contain_text(card_tail)
    card = page.locator(".shop-benefit[data-program='YC-CINEMA']")
    card.get_by_label("消费金额（元）").fill("45")
    redeem_button(page).click()
    expect(page.locator(".shop-done [data-outcome='ok']")).to_contain_text("核销成功")
    # Typed by hand as shown (grouped): used already.
    page.get_by_role("button", name="扫下一位").click()
    wedge_scan(page, typed)
    expect(page.locator("#result [data-outcome='refused']")).to_contain_text("已被使用")
    # A slip of one digit: caught, in Chinese.
    wrong = typed[:-1] + str((int(typed[-1]) + 1) % 10)
    wedge_scan(page, wrong)
    expect(page.locator("#result [data-outcome='refused']")).to_contain_text("数字码不正确")
    _shot(page, "numeric-wrong")


def test_only_what_a_cashier_needs(live: Live, page: Page) -> None:
    member = Member(live, member_phone(live, 5))
    _till(page, live, "dining")
    wedge_scan(page, member.token())
    dining = page.locator(".shop-benefit[data-kind='percent_off']")
    expect(dining.get_by_label("消费金额（元）")).to_be_visible()
    expect(dining.get_by_label("数量（份）")).to_have_count(0)  # a percentage has no quantity
    text = page.locator("#main").inner_text()
    for internal in ("项目预算", "本店额度", "monthly", "policy", "budget", "member_month"):
        assert internal not in text, internal
    _shot(page, "dining-360")
    # Quota used up: said with the member's limit, never the rule's key.
    cinema = Member(live, member_phone(live, 6))
    _till_again(page, live, "cinema")
    for _ in range(2):
        wedge_scan(page, cinema.token(), amount="45")
        redeem_button(page).click()
        expect(page.locator(".shop-done [data-outcome='ok']")).to_be_visible()
    wedge_scan(page, cinema.token(), amount="45")
    if page.locator(".shop-benefit[data-program='YC-CINEMA']").count():
        redeem_button(page).click()
        refusal = page.locator(".shop-benefit [data-outcome='refused']")
    else:  # the scan already lists it as used up
        refusal = page.locator(".shop-unavailable [data-program='YC-CINEMA']")
    expect(refusal).to_contain_text("额度已用完")
    assert "monthly_tickets" not in page.locator("#main").inner_text()
    assert "规则" not in page.locator("#main").inner_text()
    member.close()
    cinema.close()


def _till_again(page: Page, live: Live, category: str) -> None:
    page.context.clear_cookies()
    _till(page, live, category)


def test_free_visit_and_an_ineligible_member(live: Live, page: Page) -> None:
    demo: dict[str, Any] = live.demo
    flexible = next(
        i for i, m in enumerate(demo["members"]) if "flexible_worker" in m.get("categories", [])
    )
    other = next(
        i
        for i, m in enumerate(demo["members"])
        if "flexible_worker" not in m["categories"] and "migrant_worker" not in m["categories"]
    )
    _till(page, live, "rest_station")
    eligible = Member(live, member_phone(live, flexible))
    wedge_scan(page, eligible.token())
    visit = page.locator(".shop-benefit[data-kind='free_units']")
    expect(visit).to_be_visible()
    expect(visit.get_by_label("消费金额（元）")).to_have_count(0)  # free: no bill amount
    expect(visit.get_by_label("数量（份）")).to_be_visible()
    visit.get_by_role("button", name=re.compile("^核销")).click()
    done = page.locator(".shop-done")
    expect(done.locator("[data-outcome='ok']")).to_contain_text("免费")
    expect(done).not_to_contain_text("消费金额")
    _shot(page, "free-visit")
    page.get_by_role("button", name="扫下一位").click()
    nobody = Member(live, member_phone(live, other))
    wedge_scan(page, nobody.token())
    empty = page.locator("#result [data-outcome='none']")
    expect(empty).to_contain_text("该会员在本店暂无可用权益")
    expect(empty).to_contain_text("可能的原因：会员不符合本店普惠项目的享受条件")
    _shot(page, "ineligible")
    eligible.close()
    nobody.close()


def test_totals_follow_a_void_and_the_58mm_summary(live: Live, page: Page) -> None:
    member = Member(live, member_phone(live, 7))
    _till(page, live)
    wedge_scan(page, member.token(), amount="45")
    redeem_button(page).click()
    expect(page.locator(".shop-done")).to_contain_text("核销成功")
    wedge_scan(page, member.token(), amount="60")
    redeem_button(page).click()
    expect(page.locator(".shop-done")).to_contain_text("核销成功")
    page.get_by_role("link", name="今日核销").click()
    expect(page.locator("#today-count")).to_have_text("2")
    subsidy_before = page.locator("#today-subsidy").inner_text()
    first = page.locator(".shop-item").first
    first.get_by_text("撤销这笔核销").click()
    first.get_by_role("button", name="确认撤销").click()
    expect(first.locator(".badge.err")).to_have_text("已撤销")
    # No reload: the totals were swapped in with the answer.
    expect(page.locator("#today-count")).to_have_text("1")
    expect(page.locator("#today-voids")).to_have_text("1")
    assert page.locator("#today-subsidy").inner_text() != subsidy_before
    _shot(page, "today-after-void")

    page.get_by_role("link", name=re.compile("日结单")).click()
    expect(page.locator("#sum-count")).to_have_text("1")
    expect(page.locator("#sum-voids")).to_have_text("1")
    expect(page.locator("#sum-subsidy")).to_have_text("¥20.00")
    expect(page.locator(".receipt")).to_contain_text("职工观影补贴")
    _shot(page, "summary-screen")
    page.emulate_media(media="print")
    width = page.locator(".receipt").evaluate("el => el.getBoundingClientRect().width")
    assert abs(width - 58 / 25.4 * 96) < 2, width  # 58 mm at CSS 96 dpi
    expect(page.locator(".shop-nav")).to_be_hidden()
    expect(page.get_by_role("button", name="打印日结单")).to_be_hidden()
    _shot(page, "summary-print")
    member.close()


def test_empty_forms_answer_in_chinese(live: Live, page: Page) -> None:
    page.set_viewport_size(PHONE)
    page.goto(live.url + "/shop/login")
    page.get_by_role("button", name="登录").click()  # no browser "Please fill out this field"
    expect(page.get_by_role("alert")).to_contain_text("请粘贴本店收银台的终端密钥（uck_ 开头）")
    sign_in_till(page, live, terminal(live, "cinema")["key"], redirected=False)
    page.keyboard.press("Enter")  # the wedge input empty
    refusal = page.locator("#result [data-outcome='refused']")
    expect(refusal).to_contain_text("请扫描会员卡二维码或输入卡码")
    assert page.get_by_label("会员卡码").evaluate("el => el.validationMessage") == ""
