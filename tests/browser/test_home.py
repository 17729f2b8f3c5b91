"""The landing page, the language switch and the shared page plumbing, in Chromium."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, no_horizontal_scroll, shot


def test_landing_page_in_chinese_then_english(live: Live, page: Page) -> None:
    page.goto(live.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("link", name="我是会员")).to_be_visible()
    shot(page, "home-zh")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("link", name="I am a member")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(live.url + "/")  # the choice is remembered
    expect(page.get_by_role("link", name="I am a cashier")).to_be_visible()


def test_landing_page_fits_a_360px_phone(live: Live, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live.url + "/")
    assert no_horizontal_scroll(page)
    shot(page, "home-360")


def test_assets_are_served_by_the_app(live: Live, page: Page) -> None:
    """No CDN: every script and stylesheet the page loads comes from the app itself."""
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(live.url + "/")
    page.wait_for_load_state("networkidle")
    assert requested and all(u.startswith(live.url) for u in requested), requested
    assert not failed
    assert page.evaluate("typeof window.htmx") == "object"


def test_language_switch_never_redirects_off_site(live: Live, page: Page) -> None:
    resp = page.goto(live.url + "/lang/en?next=//evil.example/")
    assert resp is not None and resp.url.startswith(live.url)


def test_language_switch_keeps_the_query(live: Live, page: Page) -> None:
    """An invite link's token survives switching the language."""
    page.goto(live.url + "/?invite=ABC123")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("link", name="I am a member")).to_be_visible()
    assert page.url.endswith("/?invite=ABC123")
    assert page.locator('meta[name="csrf-token"]').get_attribute("content") == ""
