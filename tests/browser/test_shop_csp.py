"""The shop pages under the strict Content-Security-Policy that is coming (no inline script or
style; only 'wasm-unsafe-eval' added for the QR reader): nothing is blocked, all still works."""

from __future__ import annotations

import base64

from playwright.sync_api import Page, Route, expect

from cardsvc.cards.render import qr_png
from tests.browser.conftest import Live
from tests.browser.test_shop_camera import DECODE_PNG
from tests.support.shop import (
    Member,
    member_phone,
    redeem_button,
    sign_in_till,
    terminal,
    wedge_scan,
)

CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
WATCH = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"""


def _with_csp(route: Route) -> None:
    # Page loads (GET): a form post's redirect is then followed by the browser itself.
    if route.request.resource_type != "document" or route.request.method != "GET":
        route.continue_()
        return
    response = route.fetch()
    route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})


def test_shop_pages_run_under_a_strict_csp(live: Live, page: Page) -> None:
    page.route("**/*", _with_csp)
    page.add_init_script(WATCH)
    member = Member(live, member_phone(live, 4))
    # (route.fetch follows a redirect itself: the URL does not show /shop/ → /shop/login.)
    sign_in_till(page, live, terminal(live, "cinema")["key"], redirected=False)
    wedge_scan(page, member.token(), amount="45")
    redeem_button(page).click()
    expect(page.locator(".shop-done")).to_contain_text("核销成功")
    page.get_by_text("撤销这笔核销").click()
    page.get_by_role("button", name="确认撤销").click()
    expect(page.locator("#flash")).to_contain_text("已撤销")
    code = member.token()
    assert page.evaluate(DECODE_PNG, base64.b64encode(qr_png(code)).decode()) == code
    assert page.evaluate("window.__csp") == []
    page.get_by_role("link", name="今日核销").click()
    expect(page.locator(".shop-item")).to_have_count(1)
    assert page.evaluate("window.__csp") == []
    # The policy is in force: an inline script is refused (so the checks above can fail).
    ran = page.evaluate(
        """() => { const s = document.createElement('script'); s.textContent = 'window.__x = 1';
                   document.body.appendChild(s); return window.__x === 1; }"""
    )
    assert ran is False
    page.wait_for_function("window.__csp.length > 0")
    assert page.evaluate("window.__csp")[0].startswith("script-src")
    member.close()
