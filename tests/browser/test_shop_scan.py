"""The shop till in Chromium: sign in with the terminal key, scan with a keyboard-wedge
scanner, redeem, see what is left; the quota, expired, replayed and rate-limited messages."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Live, shot
from tests.support.shop import (
    Member,
    member_phone,
    redeem_button,
    sign_in_till,
    terminal,
    wedge_scan,
)


def test_wedge_scan_redeem_then_quota_message(live: Live, page: Page) -> None:
    """Issue flow 2: the cashier types the member's code as a wedge scanner would, redeems,
    and the member has one fewer left; past the limit the quota message shows in Chinese."""
    member = Member(live, member_phone(live))
    # The member's own figure before: 2 cinema tickets a month.
    assert member.left("YC-CINEMA", "monthly_tickets") == 2
    sign_in_till(page, live, terminal(live, "cinema")["key"])
    shot(page, "shop-scan-empty")

    wedge_scan(page, member.token(), amount="45")
    benefit = page.locator(".shop-benefit[data-program='YC-CINEMA']")
    expect(benefit).to_be_visible()
    expect(benefit.locator("[data-policy='monthly_tickets'] .left")).to_have_text("2 份")
    expect(page.locator(".shop-member .shop-name")).to_contain_text("*")
    expect(page.get_by_label("会员卡码")).to_be_focused()  # ready for the next scan
    shot(page, "shop-scan-result")

    benefit.get_by_role("button", name="核销 · 职工观影补贴").click()
    done = page.locator(".shop-done")
    expect(done).to_contain_text("核销成功")
    expect(done.locator("[data-policy='monthly_tickets'] .left")).to_have_text("1 份")
    expect(done).to_contain_text("¥20.00")  # the subsidy of one ticket
    expect(page.get_by_label("会员卡码")).to_be_focused()
    shot(page, "shop-redeem-done")
    # The member's benefits page is being built by another helper (pages-member); until it
    # lands, "one fewer left" is checked through the JSON API it will show (lead: switch this
    # to the /m/ page when merged).
    assert member.left("YC-CINEMA", "monthly_tickets") == 1

    # A new code; two tickets when one is left: refused with the quota message, in Chinese.
    wedge_scan(page, member.token(), amount="90")
    benefit = page.locator(".shop-benefit[data-program='YC-CINEMA']")
    expect(benefit.locator("[data-policy='monthly_tickets'] .left")).to_have_text("1 份")
    benefit.get_by_label("数量").fill("2")
    benefit.get_by_role("button", name="核销 · 职工观影补贴").click()
    # In the benefit card, where the cashier pressed 核销.
    refused = benefit.locator("[data-outcome='refused'][data-code='quota_exhausted']")
    expect(refused).to_contain_text("本期额度不足：每人本月限 2 份")
    expect(refused).to_contain_text("本次需要 2 份")
    shot(page, "shop-quota-exhausted")
    assert member.left("YC-CINEMA", "monthly_tickets") == 1

    # The last ticket (the same form, one ticket), then a new scan: the programme is listed
    # as not usable, with the reason a cashier may tell.
    benefit.get_by_label("数量").fill("1")
    benefit.get_by_role("button", name="核销 · 职工观影补贴").click()
    expect(page.locator(".shop-done")).to_contain_text("核销成功")
    assert member.left("YC-CINEMA", "monthly_tickets") == 0
    wedge_scan(page, member.token())
    unavailable = page.locator(".shop-unavailable [data-program='YC-CINEMA']")
    expect(unavailable).to_contain_text("本期额度已用完")
    expect(page.locator(".shop-benefit")).to_have_count(0)
    shot(page, "shop-scan-nothing-left")
    member.close()


def test_without_javascript_the_forms_still_work(
    live: Live, browser: Browser, browser_context_args: dict[str, Any]
) -> None:
    """Plain form posts (no htmx): whole pages come back, the CSRF token rides in the form."""
    context = browser.new_context(**browser_context_args, java_script_enabled=False)
    page = context.new_page()
    member = Member(live, member_phone(live, 3))
    page.goto(live.url + "/shop/login")
    page.get_by_label("终端密钥").fill(terminal(live, "cinema")["key"])
    page.get_by_role("button", name="登录").click()
    page.get_by_label("会员卡码").fill(member.token())
    page.get_by_label("消费金额（元，可先填）").fill("45")
    page.get_by_role("button", name="查询权益").click()
    redeem_button(page).click()
    expect(page.locator(".shop-done")).to_contain_text("核销成功")
    assert member.left("YC-CINEMA", "monthly_tickets") == 1
    page.get_by_text("撤销这笔核销").click()
    page.get_by_role("button", name="确认撤销").click()
    expect(page).to_have_url(re.compile(r"/shop/today$"))
    expect(page.locator(".shop-item .badge.err")).to_have_text("已撤销")
    assert member.left("YC-CINEMA", "monthly_tickets") == 2
    context.close()
    member.close()


def test_a_field_taken_before_the_answer_settles_keeps_the_focus(live: Live, page: Page) -> None:
    """The cashier taps the quantity of a benefit the moment it appears: the page then settles
    and sends the focus back to the scanner input, but not from a field they just went to
    (their "2" would land in the scanner input). The settle is slowed to make the gap wide."""
    member = Member(live, member_phone(live))
    sign_in_till(page, live, terminal(live, "cinema")["key"])
    page.evaluate("window.htmx.config.defaultSettleDelay = 800")
    wedge_scan(page, member.token(), amount="90")
    quantity = page.locator(".shop-benefit[data-program='YC-CINEMA']").get_by_label("数量")
    quantity.fill("2")
    page.wait_for_timeout(1200)  # the settle has run by now
    expect(quantity).to_be_focused()
    expect(quantity).to_have_value("2")
    expect(page.get_by_label("会员卡码")).to_have_value("")
