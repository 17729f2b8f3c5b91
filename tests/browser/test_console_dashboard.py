"""The dashboard: key figures and four Chart.js charts fed by /console/dashboard.json."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, shot
from tests.browser.console_support import sign_in


def test_dashboard_draws_the_four_charts(live: Live, page: Page) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live, "yc.admin")
    expect(page.get_by_role("heading", name="概览 · 宜昌市总工会")).to_be_visible()
    charts = page.locator("[data-charts-src]")
    expect(charts).to_have_attribute("data-ready", "true")
    for key in ("members", "joins", "redemptions", "budget"):
        expect(page.locator(f'canvas[data-chart="{key}"]')).to_have_attribute("data-drawn", "true")
    assert int(page.locator("#stat-active").inner_text()) > 0
    assert page.evaluate("Object.keys(window.Chart.instances).length") == 4
    assert not errors, errors
    shot(page, "console-dashboard")


def test_dashboard_data_is_scoped_to_the_officer(live: Live, page: Page) -> None:
    """A district officer's figures cover their district only (same check as the reports)."""
    sign_in(page, live, "xl.admin")
    expect(page.get_by_role("heading", name="概览 · 西陵区总工会")).to_be_visible()
    data = page.request.get(live.url + "/console/dashboard.json").json()
    assert set(data) >= {"members", "joins", "redemptions", "budget"}
    other = page.request.get(live.url + "/console/dashboard.json?org_id=" + _org_id(page, live))
    assert other.status == 404


def _org_id(page: Page, live: Live) -> str:
    """The id of a district the xl.admin officer does not manage (伍家岗区)."""
    items = page.request.get(live.url + "/api/v1/join/unions?q=伍家岗").json()["items"]
    return str(items[0]["id"])
