"""Service requests on the member pages: file one with a photo, follow its steps, answer the
union's question, rate the outcome; the inbox tells each step."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support.member_steps import sign_in, staff


def _photo(tmp_path: Path, name: str, colour: str) -> Path:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(buf, "PNG")
    path = tmp_path / name
    path.write_bytes(buf.getvalue())
    return path


def test_file_follow_reply_rate_and_inbox(live: Live, page: Page, tmp_path: Path) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    member = next(m for m in live.demo["members"] if m["union"].startswith("XL-"))
    sign_in(page, live, member["phone"])
    page.goto(live.url + "/m/requests")
    page.get_by_role("link", name="我要申请").click()
    page.wait_for_url(live.url + "/m/requests/new")
    page.get_by_role("button", name="提交申请").click()
    expect(page.locator("#e-kind")).to_have_text("请选择申请类别")
    expect(page.locator("#e-title")).to_be_visible()
    expect(page.locator("#e-description")).to_be_visible()

    page.get_by_label("申请类别").select_option("hardship")
    page.get_by_label("标题").fill("家人住院,医疗费用困难")
    page.get_by_label("具体情况").fill("母亲住院手术,自付部分约两万元,家庭收入难以承担。")
    not_an_image = tmp_path / "证明.jpg"
    not_an_image.write_text("这不是图片")
    page.get_by_label("照片或证明材料（选填）").set_input_files(
        [_photo(tmp_path, "住院单.png", "white"), not_an_image]
    )
    page.get_by_role("button", name="提交申请").click()
    expect(page.locator("#e-photos")).to_have_text(
        "只能上传图片（JPEG、PNG、WebP、HEIC）或 PDF 文件"
    )
    expect(page.get_by_label("标题")).to_have_value("家人住院,医疗费用困难")  # kept

    page.get_by_label("照片或证明材料（选填）").set_input_files(
        [_photo(tmp_path, "住院单.png", "white")]
    )
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url(lambda url: "/m/requests/" in url and not url.endswith("/new"))
    request_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#req-status")).to_have_text("待受理")
    expect(page.locator("#steps")).to_contain_text("已提交")
    expect(page.locator("#steps")).to_contain_text("上传附件")
    expect(page.get_by_role("img", name="住院单.png")).to_be_visible()
    assert no_horizontal_scroll(page)
    shot(page, "member-request-filed")

    # The union accepts it and asks for more. (console page: see tests/browser/test_console_*.py)
    officer = staff(live, "xl.admin")
    base = f"/api/v1/service-requests/{request_id}"
    assert officer.post(f"{base}/accept", json={}).status_code == 200
    asked = officer.post(f"{base}/request-info", json={"note": "请补充医院的费用清单"})
    assert asked.status_code == 200, asked.text
    page.reload()
    expect(page.locator("#req-status")).to_have_text("请补充材料")
    expect(page.locator("#reply-form")).to_contain_text("请补充医院的费用清单")
    page.get_by_role("button", name="提交回复").click()
    expect(page.locator("#e-note")).to_be_visible()
    page.get_by_label("我的回复").fill("费用清单已拍照上传")
    page.get_by_role("button", name="提交回复").click()
    expect(page.locator("#req-status")).to_have_text("办理中")
    page.get_by_label("补充照片或材料").set_input_files([_photo(tmp_path, "费用清单.png", "grey")])
    page.get_by_role("button", name="上传").click()
    expect(page.get_by_role("img", name="费用清单.png")).to_be_visible()
    expect(page.locator("#steps")).to_contain_text("会员已补充")

    resolved = officer.post(f"{base}/resolve", json={"outcome": "已发放困难帮扶金 2000 元"})
    assert resolved.status_code == 200, resolved.text
    page.reload()
    expect(page.locator("#req-status")).to_have_text("已办结")
    expect(page.get_by_text("已发放困难帮扶金 2000 元").first).to_be_visible()
    page.get_by_role("button", name="提交评价").click()
    expect(page.locator("#e-rating")).to_be_visible()
    page.locator('label[for="f-rating-5"]').click()
    page.get_by_label("留言（选填）").fill("工会很快就帮了忙,谢谢!")
    page.get_by_role("button", name="提交评价").click()
    expect(page.locator("#my-rating")).to_contain_text("★★★★★")
    expect(page.locator("#rating-form")).to_have_count(0)
    shot(page, "member-request-rated")

    page.goto(live.url + "/m/requests")
    mine = page.locator("#requests li").filter(has_text="家人住院,医疗费用困难")
    expect(mine).to_have_count(1)  # the refused try filed nothing
    expect(mine).to_contain_text("已办结")
    page.get_by_role("link", name="消息").click()
    page.wait_for_url(live.url + "/m/inbox")
    notes = page.locator("#inbox > li")
    expect(notes.first).to_contain_text("已办结")
    expect(page.locator("#inbox")).to_contain_text("请补充医院的费用清单")
    expect(page.locator("#inbox .is-unread").first).to_be_visible()
    shot(page, "member-inbox")
    page.get_by_role("button", name="全部标为已读").click()
    expect(page.locator("#inbox .is-unread")).to_have_count(0)
    notes.first.get_by_role("link", name="查看申请").click()
    expect(page).to_have_url(live.url + f"/m/requests/{request_id}")
