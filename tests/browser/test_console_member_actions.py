"""The member page as staff use it: details edited with a reason (audited), the membership
suspended and reinstated, the card reissued after a lost phone (the old one revoked) and the
card printed with a QR code that verifies."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime

import httpx
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from cardsvc.cards.published import STATUS_LIST_PATH
from cardsvc.cards.verify import verify
from tests.browser.conftest import Live, no_horizontal_scroll
from tests.browser.membership_steps import look, phone_client, staff_api
from tests.support.console import sign_in


def _open_member(page: Page, live: Live, member: dict[str, str]) -> None:
    sign_in(page, live, "yc.admin", "/console/members")
    page.get_by_label("会员号").fill(member["member_no"])
    page.get_by_role("button", name="查询").click()
    page.locator("#members tbody tr").first.get_by_role("link", name=member["name"]).click()
    expect(page.get_by_role("heading", name=member["name"])).to_be_visible()


def test_edit_with_reason_then_suspend_and_reinstate(live: Live, page: Page) -> None:
    member = next(m for m in live.demo["members"] if m["union"].startswith("XL-"))
    phone = phone_client(live, member["phone"])
    _open_member(page, live, member)
    page.get_by_role("link", name="修改信息").click()
    form = page.locator("#member-form")
    form.get_by_label("岗位").fill("数控车工")
    form.get_by_label("劳模").check()
    form.get_by_role("button", name="保存修改").click()
    expect(page.locator("#member-form .field-error")).to_contain_text("修改原因")
    assert no_horizontal_scroll(page)
    look(page, "member-edit-error")
    page.locator("#member-form").get_by_label("修改原因（记入审计日志）").fill(
        "本人携证件到工会更正"
    )
    page.locator("#member-form").get_by_role("button", name="保存修改").click()
    expect(page.get_by_role("status").filter(has_text="会员信息已保存")).to_be_visible()
    expect(page.locator("dl.kv")).to_contain_text("数控车工")
    expect(page.locator("dl.kv")).to_contain_text("劳模")
    member_id = page.url.split("/console/members/")[1].split("?")[0]
    audit = staff_api(page, "GET", "/api/v1/audit?action=member.update")
    row = next(e for e in audit["items"] if e["target_id"] == member_id)
    assert row["summary"]["reason"] == "本人携证件到工会更正"

    # Suspending needs a reason; the card is suspended with the membership.
    page.get_by_role("button", name="暂停会籍").click()
    expect(page.locator("#member-actions .field-error")).to_contain_text("原因")
    page.get_by_label("暂停原因").fill("长期欠缴会费")
    page.get_by_role("button", name="暂停会籍").click()
    expect(page.locator(".page-head .badge")).to_have_text("暂停")
    expect(page.get_by_text("已挂失/暂停")).to_be_visible()
    look(page, "member-suspended")
    token = phone.get("/api/v1/me/card/token")
    assert token.status_code == 403, token.text
    page.get_by_role("button", name="恢复会籍").click()
    expect(page.locator(".page-head .badge")).to_have_text("正常")
    token = phone.get("/api/v1/me/card/token")
    assert token.status_code == 200, token.text


def test_reissue_after_lost_phone_and_print_card(live: Live, page: Page) -> None:
    member = [m for m in live.demo["members"] if m["union"].startswith("XL-")][1]
    phone = phone_client(live, member["phone"])
    old = phone.get("/api/v1/me/card").json()
    _open_member(page, live, member)
    page.get_by_role("button", name="作废旧卡并补发").click()
    expect(page.locator("#member-actions .field-error")).to_contain_text("不能为空")
    page.get_by_label("补发原因").fill("手机丢失")
    page.get_by_role("button", name="作废旧卡并补发").click()
    expect(page.get_by_role("status").filter(has_text="已补发新卡")).to_be_visible()
    cards = page.locator("table.small-table tbody tr")
    expect(cards).to_have_count(2)
    expect(cards.filter(has_text="已作废")).to_have_count(1)
    new = phone.get("/api/v1/me/card").json()
    assert new["number"] != old["number"]

    # The printed card: the API's image with a static code that verifies offline.
    cards.filter(has_text="有效").get_by_role("button", name="打印实体卡").click()
    img = page.locator("#printable-card img")
    expect(img).to_be_visible()
    look(page, "member-printable")
    src = img.get_attribute("src") or ""
    png = base64.b64decode(src.split(",", 1)[1])
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    jwks = httpx.get(live.url + "/.well-known/jwks.json").text
    revocations = httpx.get(live.url + STATUS_LIST_PATH).text
    assert verify(found.text, jwks, revocations, datetime.now(UTC)).card_index >= 0
    page.emulate_media(media="print")
    expect(page.locator("#member-actions")).to_be_hidden()
    look(page, "member-printable-print")
    audit = staff_api(page, "GET", "/api/v1/audit?action=card.print")
    assert audit["items"], audit
