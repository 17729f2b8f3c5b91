"""Redeeming from the shop page: exactly once per rendered form, voids, today's list, and the
messages a cashier gets for an expired, replayed or rate-limited scan (in Chinese)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from cardsvc.kernel.ratelimit import RateLimiter
from merchants.terminal.auth import gate_of
from merchants.terminal.wiring import services_of
from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support.shop import (
    Member,
    member_phone,
    redeem_button,
    sign_in_till,
    terminal,
    wedge_scan,
)


def _today_count(page: Page, live: Live) -> int:
    page.goto(live.url + "/shop/today")
    return int(page.locator("#today-count").inner_text())


def test_a_double_click_or_a_resubmit_redeems_once(live: Live, page: Page) -> None:
    member = Member(live, member_phone(live))
    sign_in_till(page, live, terminal(live, "cinema")["key"])
    wedge_scan(page, member.token(), amount="45")
    form = page.locator(".shop-benefit[data-program='YC-CINEMA'] form")
    expect(form).to_be_visible()
    # The form as rendered (with its server-made Idempotency-Key), kept to post it again.
    fields = form.evaluate("f => Object.fromEntries(new FormData(f))")
    assert fields["idem"].startswith("shop-")
    redeem_button(page).dblclick()
    expect(page.locator(".shop-done")).to_contain_text("核销成功")
    # A retry of the very same form (a flaky network, the browser's back + resubmit).
    again = page.request.post(
        live.url + "/shop/redeem",
        form=fields,
        headers={"HX-Request": "true", "X-CSRF-Token": fields["csrf"]},
    )
    assert again.status == 200
    assert "重复提交" in again.text() and "没有再次扣减" in again.text()
    # Two posts at once of one form: one ledger row between them.
    wedge_scan(page, member.token(), amount="45")
    form = page.locator(".shop-benefit[data-program='YC-CINEMA'] form")
    statuses = form.evaluate(
        """f => Promise.all([1, 2].map(() => fetch(f.action, {method: 'POST', body: new FormData(f),
             headers: {'HX-Request': 'true', 'X-CSRF-Token': f.csrf.value}})
           .then(r => r.text())))"""
    )
    assert sum("核销成功" in s for s in statuses) + sum("重复提交" in s for s in statuses) == 2
    assert member.left("YC-CINEMA", "monthly_tickets") == 0  # 2 redeemed, not 3 or 4
    assert _today_count(page, live) == 2
    member.close()


def test_void_a_recent_redemption_and_todays_list(live: Live, page: Page) -> None:
    member = Member(live, member_phone(live, 1))
    sign_in_till(page, live, terminal(live, "cinema")["key"])
    assert _today_count(page, live) == 0
    shot(page, "shop-today-empty")
    page.get_by_role("link", name="扫码核销").click()
    wedge_scan(page, member.token(), amount="45")
    redeem_button(page).click()
    expect(page.locator(".shop-done")).to_contain_text("核销成功")
    assert member.left("YC-CINEMA", "monthly_tickets") == 1
    # Void it from the result: the ticket is given back.
    page.get_by_text("撤销这笔核销").click()
    page.get_by_label("撤销原因").select_option("收银操作失误")
    page.get_by_role("button", name="确认撤销").click()
    expect(page.locator("#flash")).to_contain_text("已撤销，额度已退回")
    expect(page.locator(".shop-done .badge.err")).to_have_text("已撤销")
    expect(page.locator(".shop-done")).to_contain_text("这笔核销已撤销")
    expect(page.get_by_label("会员卡码")).to_be_focused()
    shot(page, "shop-void-done")
    assert member.left("YC-CINEMA", "monthly_tickets") == 2

    # Two more; today's list shows all three, the voided one marked and not counted.
    for amount in ("45", "60.5"):
        wedge_scan(page, member.token(), amount=amount)
        redeem_button(page).click()
        expect(page.locator(".shop-done")).to_contain_text("核销成功")
    page.get_by_role("link", name="今日核销").click()
    items = page.locator(".shop-item")
    expect(items).to_have_count(3)
    expect(page.locator("#today-count")).to_have_text("2")
    expect(items.first).to_contain_text("¥60.50")
    expect(items.first).to_contain_text("职工观影补贴")
    expect(items.first).to_contain_text("**** **** **** ")
    expect(items.nth(2)).to_contain_text("已撤销")
    shot(page, "shop-today")
    # Void the latest from the list.
    items.first.get_by_text("撤销这笔核销").click()
    items.first.get_by_role("button", name="确认撤销").click()
    expect(items.first.locator(".badge.err")).to_have_text("已撤销")
    assert member.left("YC-CINEMA", "monthly_tickets") == 1
    page.reload()
    expect(page.locator("#today-count")).to_have_text("1")
    expect(page.locator(".shop-item .badge.err")).to_have_count(2)
    member.close()


def test_expired_replayed_and_rate_limited_codes_in_chinese(live: Live, page: Page) -> None:
    member = Member(live, member_phone(live, 2))
    sign_in_till(page, live, terminal(live, "cinema")["key"])

    # Replayed: a code that was already redeemed (a screenshot shown again).
    code = member.token()
    wedge_scan(page, code, amount="45")
    redeem_button(page).click()
    expect(page.locator(".shop-done")).to_contain_text("核销成功")
    wedge_scan(page, code, amount="45")
    redeem_button(page).click()
    expect(page.locator("#flash [data-code='token_replayed']")).to_contain_text("该二维码已被使用")
    shot(page, "shop-token-replayed")

    # Expired: the till's clock (the services' clock) is past the code's validity.
    code = member.token()
    services = services_of(live.app.state)
    services.clock = lambda: datetime.now(UTC) + timedelta(minutes=10)
    try:
        wedge_scan(page, code)
        expired = page.locator("#flash [data-code='token_expired']")
        expect(expired).to_contain_text("已过期")
        expect(page.locator("#result")).to_be_empty()  # nothing of an earlier member stays
        expect(page.get_by_label("会员卡码")).to_be_focused()
        shot(page, "shop-token-expired")
    finally:
        services.clock = lambda: datetime.now(UTC)

    # Not a UnionCard code at all (a product barcode scanned by mistake).
    wedge_scan(page, "6901234567892")
    expect(page.locator("#flash [data-code='malformed']")).to_contain_text("无法识别")

    # Rate-limited: the same per-key limit as the API.
    gate = gate_of(live.app.state)
    gate.limiter = RateLimiter()  # in-process, fresh
    gate.config = replace(gate.config, rate_limit_per_minute=1)
    code = member.token()
    wedge_scan(page, code)
    expect(page.locator(".shop-benefit")).to_have_count(1)
    wedge_scan(page, code)
    limited = page.locator("#flash [data-code='rate_limited']")
    expect(limited).to_contain_text("请求过于频繁")
    shot(page, "shop-rate-limited")
    member.close()


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button, video, summary')]
  .filter(el => el.type !== 'hidden')
  .filter(el => !((el.labels && el.labels.length) || el.getAttribute('aria-label')
                  || el.getAttribute('aria-labelledby') || el.textContent.trim()))
  .map(el => el.outerHTML.slice(0, 80))"""


def test_the_till_fits_a_360px_phone(live: Live, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    member = Member(live, member_phone(live))
    page.goto(live.url + "/shop/login")
    assert no_horizontal_scroll(page)
    shot(page, "shop-login-360")
    sign_in_till(page, live, terminal(live, "cinema")["key"])
    assert no_horizontal_scroll(page)
    wedge_scan(page, member.token(), amount="45")
    expect(page.locator(".shop-benefit")).to_be_visible()
    assert no_horizontal_scroll(page)
    assert page.evaluate(UNLABELLED) == []  # every control has an accessible name
    shot(page, "shop-scan-result-360")
    redeem_button(page).click()
    expect(page.locator(".shop-done")).to_be_visible()
    assert no_horizontal_scroll(page)
    shot(page, "shop-redeem-done-360")
    page.goto(live.url + "/shop/today")
    expect(page.locator(".shop-item")).to_have_count(1)
    assert no_horizontal_scroll(page)
    assert page.evaluate(UNLABELLED) == []
    shot(page, "shop-today-360")
    member.close()
