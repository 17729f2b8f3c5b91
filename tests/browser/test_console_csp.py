"""Every console page works under the strict Content-Security-Policy that is coming
(``script-src 'self'; style-src 'self'``): no inline script or style anywhere; and in English."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import Live, shot
from tests.support.console import sign_in

CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:"
PAGES = (
    "/console",
    "/console/approvals",
    "/console/members",
    "/console/roster",
    "/console/orgs",
    "/console/programmes",
    "/console/programmes/new",
    "/console/merchants",
    "/console/merchants/new",
    "/console/service",
    "/console/hardship",
    "/console/reports",
    "/console/audit",
)


def _with_csp(route: Route) -> None:
    response = route.fetch()
    headers: dict[str, Any] = {**response.headers}
    if "text/html" in headers.get("content-type", ""):
        headers["content-security-policy"] = CSP
    route.fulfill(response=response, headers=headers)


def test_console_pages_run_under_a_strict_csp(live: Live, page: Page) -> None:
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("pageerror", lambda e: violations.append(str(e)))
    page.route(live.url + "/console**", _with_csp)
    sign_in(page, live, "admin")
    expect(page.locator("[data-charts-src]")).to_have_attribute("data-ready", "true")
    for path in PAGES:
        resp = page.goto(live.url + path)
        assert resp is not None and resp.status == 200, (path, resp and resp.status)
        page.wait_for_load_state("networkidle")
    # htmx still works under the CSP: a fragment swap on the programme editor.
    page.goto(live.url + "/console/programmes/new")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("#form-errors")).to_be_visible()
    assert not violations, violations


def test_console_in_english(live: Live, page: Page) -> None:
    sign_in(page, live, "yc.admin", "/console/approvals")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Join applications")).to_be_visible()
    nav = page.get_by_role("navigation", name="Console navigation")
    expect(nav.get_by_role("link", name="Approvals")).to_have_attribute("aria-current", "page")
    page.goto(live.url + "/console")
    expect(page.get_by_role("heading", name="Dashboard · 宜昌市总工会")).to_be_visible()
    expect(page.locator("[data-charts-src]")).to_have_attribute("data-ready", "true")
    shot(page, "console-dashboard-en")
