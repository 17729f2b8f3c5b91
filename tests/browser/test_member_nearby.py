"""附近 on a 360 px phone: the stores around the member's district on a map and in a list, then
around the phone's own position (the browser's geolocation), a store's page with this member's
benefits there and the link that opens a navigation app; a 工惠驿家 shows its amenities."""

from __future__ import annotations

import re

from playwright.sync_api import Geolocation, Page, expect

from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support.member_steps import sign_in

JIEFANG_ROAD: Geolocation = {"latitude": 30.69652, "longitude": 111.28551}  # 老街面馆（解放路店）


def test_nearby_list_map_store_page_and_navigation(live: Live, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    member = live.demo["members"][0]
    sign_in(page, live, member["phone"])
    page.get_by_role("link", name="附近", exact=True).click()
    page.wait_for_url(live.url + "/m/nearby")
    expect(page.get_by_role("heading", name="附近可用")).to_be_visible()
    stores = page.locator("#stores > li.m-store")
    expect(stores.first).to_be_visible()
    assert stores.count() >= 5
    # The map: Leaflet from the app's own assets, one marker per listed store.
    expect(page.locator("#nearby-map")).to_have_attribute("data-ready", str(stores.count()))
    expect(page.locator("#nearby-map .leaflet-marker-icon")).to_have_count(stores.count())
    assert no_horizontal_scroll(page)
    shot(page, "member-nearby-district")

    # Around the phone's position: the noodle shop on 解放路 first, a few metres away.
    page.context.grant_permissions(["geolocation"], origin=live.url)
    page.context.set_geolocation(JIEFANG_ROAD)
    page.get_by_role("button", name="使用我的位置").click()
    page.wait_for_url(re.compile(r".*near=30\.69652"))
    first = stores.first
    expect(first.get_by_role("link")).to_have_text("老街面馆（解放路店）")
    expect(first).to_contain_text("0 米")
    expect(first.locator("[data-usable]").first).to_be_visible()  # a benefit usable there
    shot(page, "member-nearby-here")

    first.get_by_role("link", name="老街面馆（解放路店）").click()
    page.wait_for_url(re.compile(r".*/m/stores/"))
    expect(page.get_by_role("heading", name="老街面馆（解放路店）")).to_be_visible()
    expect(page.locator("#offers [data-usable]").first).to_be_visible()
    nav = page.get_by_role("link", name="打开地图应用")
    assert (nav.get_attribute("href") or "").startswith("geo:30.696520,111.285510")
    expect(page.get_by_role("link", name="高德地图")).to_have_attribute(
        "href", re.compile(r"^https://uri\.amap\.com/marker\?position=111\.285510,30\.696520")
    )
    assert no_horizontal_scroll(page)
    shot(page, "member-store-page")

    # A rest station in the list: its amenities on its page.
    page.goto(live.url + "/m/nearby?near=30.69652,111.28551&category=rest_station")
    stores.first.get_by_role("link").click()
    expect(page.locator("#amenities")).to_contain_text("饮用水")
    expect(page.locator("#hours")).to_contain_text("00:00-24:00")
    assert no_horizontal_scroll(page)
