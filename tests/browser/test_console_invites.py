"""Invite links in the console: created for a union, printed as an A4 poster whose QR code
opens the join form for that union, and revoked."""

from __future__ import annotations

import httpx
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, no_horizontal_scroll
from tests.browser.membership_steps import look
from tests.support.console import sign_in


def test_invite_link_poster_qr_and_revoke(live: Live, page: Page) -> None:
    sign_in(page, live, "xl.admin", "/console/invites")
    page.get_by_label("基层工会").select_option(label="宜昌峡江机电有限公司工会")
    page.get_by_role("button", name="查看").click()
    form = page.locator("#invite-form")
    form.get_by_label("有效天数").fill("0")
    form.get_by_role("button", name="生成邀请链接").click()
    expect(page.locator("#invite-form .field-error")).to_contain_text("1–3650")
    page.locator("#invite-form").get_by_label("用途说明").fill("一车间食堂海报")
    page.locator("#invite-form").get_by_label("有效天数").fill("30")
    page.locator("#invite-form").get_by_role("button", name="生成邀请链接").click()
    row = page.locator("#invites tbody tr", has_text="一车间食堂海报")
    expect(row).to_contain_text("有效")
    assert no_horizontal_scroll(page)
    look(page, "invites")
    url = row.locator("code").inner_text().strip()
    token = url.split("invite=")[1]

    # The poster: A4, the union's name, the instructions, and a QR code of the link.
    with page.context.expect_page() as opened:
        row.get_by_role("link", name="打印海报").click()
    poster = opened.value
    poster.set_viewport_size({"width": 1366, "height": 1200})
    expect(poster.get_by_role("heading", name="宜昌峡江机电有限公司工会")).to_be_visible()
    expect(poster.locator(".steps")).to_contain_text("扫描上方二维码")
    sheet = poster.locator(".sheet").bounding_box()
    assert sheet is not None and abs(sheet["height"] / sheet["width"] - 297 / 210) < 0.01
    look(poster, "invite-poster")
    png = "/tmp/consolemem-invite-qr.png"
    poster.locator(".qr").screenshot(path=png)
    [found] = zxingcpp.read_barcodes(Image.open(png))
    assert found.text == url
    poster.emulate_media(media="print")
    expect(poster.locator(".toolbar")).to_be_hidden()
    look(poster, "invite-poster-print")
    poster.close()
    info = httpx.get(f"{live.url}/api/v1/join/invites/{token}")
    assert info.status_code == 200 and info.json()["union"]["name"] == "宜昌峡江机电有限公司工会"

    # Revoking asks first; then the link no longer opens the join form.
    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="撤销").click()
    expect(page.locator("#invites tbody tr", has_text="一车间食堂海报")).to_contain_text("已撤销")
    assert httpx.get(f"{live.url}/api/v1/join/invites/{token}").status_code == 404


def test_roles_without_member_rights_get_no_invite_page(live: Live, page: Page) -> None:
    sign_in(page, live, "hb.auditor")
    nav = page.get_by_role("navigation", name="后台导航")
    expect(nav.get_by_role("link", name="入会邀请")).to_have_count(0)
    resp = page.goto(live.url + "/console/invites")
    assert resp is not None and resp.status == 403
    expect(page.get_by_role("heading", name="无权访问这个页面")).to_be_visible()
    expect(page.get_by_text("您的角色无权管理邀请链接")).to_be_visible()
