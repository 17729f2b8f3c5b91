"""A store's photo, uploaded in the console and seen by a member on a 360 px phone: the store's
page shows it (loaded, within the page's width) above the way there."""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support import console
from tests.support.member_steps import sign_in

STORE = "老街面馆（解放路店）"


def shopfront(path: Path) -> Path:
    """A phone's photo of a shopfront (a drawing), with a GPS position in its EXIF."""
    im = Image.new("RGB", (1200, 900), (214, 226, 240))
    draw = ImageDraw.Draw(im)
    draw.rectangle((100, 250, 1100, 860), fill=(150, 60, 40))
    draw.rectangle((150, 120, 1050, 250), fill=(190, 30, 30))
    for x in range(180, 1050, 300):
        draw.rectangle((x, 380, x + 220, 800), fill=(240, 220, 160))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (30.0, 41.0, 47.0), 3: "E", 4: (111.0, 17.0, 8.0)}
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif.tobytes(), quality=88)
    path.write_bytes(out.getvalue())
    return path


def test_a_photo_from_the_console_on_the_members_store_page(
    live: Live, page: Page, tmp_path: Path
) -> None:
    console.sign_in(page, live, "yc.merchants", "/console/merchants")
    page.locator("#merchants a", has_text="老街面馆").first.click()
    store = page.locator("section.store", has_text=STORE)
    store.locator("summary", has_text="修改 / 关闭门店").click()
    photos = store.locator(".store-photos")
    expect(photos).to_contain_text("暂无照片")
    photos.locator('input[type="file"]').set_input_files(str(shopfront(tmp_path / "门头.jpg")))
    photos.get_by_role("button", name="上传", exact=True).click()
    expect(store.locator(".store-photos li[data-photo]")).to_have_count(1)
    thumb = store.locator(".store-photos li[data-photo] img")
    expect(thumb).to_be_visible()
    thumb.scroll_into_view_if_needed()
    # Visible once laid out, loaded a moment later: wait for the image itself.
    page.wait_for_function("img => img.complete", arg=thumb.element_handle())
    assert thumb.evaluate("img => img.naturalWidth") == 1200
    shot(page, "console-store-photos")

    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, live, live.demo["members"][0]["phone"])
    page.goto(live.url + "/m/nearby?near=30.69652,111.28551")
    page.locator("#stores > li.m-store").first.get_by_role("link", name=STORE).click()
    page.wait_for_url(re.compile(r".*/m/stores/"))
    expect(page.get_by_role("heading", name=STORE)).to_be_visible()
    img = page.locator("#photos img").first
    expect(img).to_be_visible()
    img.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('#photos img').complete")
    assert img.evaluate("img => img.naturalWidth") == 1200  # upright, not rotated or cropped
    width = img.evaluate("img => img.getBoundingClientRect().width")
    assert 0 < width <= 360
    expect(page.get_by_role("link", name="打开地图应用")).to_have_attribute(
        "href", re.compile(r"^geo:30\.696520,111\.285510")
    )
    assert no_horizontal_scroll(page)
    shot(page, "member-store-photos")
