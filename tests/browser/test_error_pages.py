"""A browser never sees raw JSON: unknown and forbidden pages are pages, in the reader's
language, with a way back to the home of the area they were in (Chromium)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, shot
from tests.support.console import sign_in


def _english(page: Page, live: Live) -> None:
    page.goto(live.url + "/lang/en?next=/")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def _no_json(page: Page) -> None:
    assert not page.locator("body").inner_text().lstrip().startswith("{")
    assert "urn:unioncard:problem" not in page.content()


def test_unknown_address_outside_the_pages_in_chinese(live: Live, page: Page) -> None:
    resp = page.goto(live.url + "/no/such/place")
    assert resp is not None and resp.status == 404
    assert resp.headers["content-type"].startswith("text/html")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", name="找不到这个页面")).to_be_visible()
    expect(page.get_by_text("地址可能有误，或者这个页面已经不在了。")).to_be_visible()
    expect(page.get_by_text("请求编号")).to_be_visible()
    _no_json(page)
    shot(page, "deploy-404-zh")
    page.get_by_role("link", name="返回首页").click()
    expect(page.get_by_role("link", name="我是会员")).to_be_visible()  # the landing page


def test_unknown_member_page_in_english_goes_back_to_the_member_area(
    live: Live, page: Page
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    _english(page, live)
    resp = page.goto(live.url + "/m/no-such-page")
    assert resp is not None and resp.status == 404
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="This page does not exist")).to_be_visible()
    _no_json(page)
    shot(page, "deploy-404-m-en")
    back = page.get_by_role("link", name="Back to the start page")
    expect(back).to_have_attribute("href", "/m")
    back.click()
    page.wait_for_url(lambda url: "/no-such-page" not in url)
    assert page.url.startswith(live.url + "/m")
    expect(page.get_by_role("heading", name="This page does not exist")).to_have_count(0)


def test_forbidden_console_page_in_both_languages(live: Live, page: Page) -> None:
    """A merchant officer opening the member list: 403 with the reason, then back."""
    sign_in(page, live, "yc.merchants")
    resp = page.goto(live.url + "/console/members")
    assert resp is not None and resp.status == 403
    expect(page.get_by_role("heading", name="无权访问这个页面")).to_be_visible()
    expect(page.get_by_text("您的角色无权查看会员")).to_be_visible()
    _no_json(page)
    shot(page, "deploy-403-zh")

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="You may not open this page")).to_be_visible()
    expect(page.get_by_text("Your role may not view members")).to_be_visible()
    shot(page, "deploy-403-en")
    page.get_by_role("link", name="Back to the start page").click()
    page.wait_for_url(live.url + "/console")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_unknown_console_page_signed_in(live: Live, page: Page) -> None:
    sign_in(page, live, "yc.admin")
    resp = page.goto(live.url + "/console/members/not-a-member-id/extra")
    assert resp is not None and resp.status == 404
    expect(page.get_by_role("heading", name="找不到这个页面")).to_be_visible()
    expect(page.get_by_role("link", name="返回首页")).to_have_attribute("href", "/console")
    _no_json(page)
    shot(page, "deploy-404-console-zh")
