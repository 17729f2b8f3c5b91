"""Founding a union in the browser: the applicant fills the form on a phone (360 px), adds a
document and follows the status; district staff (1366 px) review it, ask for more, and
approve it once corrected; the register's import and the founding-rate chart."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from stdnum.cn import uscc

from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support.console import sign_in as staff_sign_in
from tests.support.member_steps import sign_in

CODE = "91420502MA4F7" + "0001"
CODE += uscc.calc_check_digit(CODE)
PHONE = "17700005678"


def _licence(tmp_path: Path) -> Path:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), "white").save(buf, "PNG")
    path = tmp_path / "营业执照.png"
    path.write_bytes(buf.getvalue())
    return path


def _apply_on_the_phone(live: Live, page: Page, tmp_path: Path) -> str:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live.url + "/")
    page.get_by_role("link", name="单位建会").click()  # signs in first, then the form
    sign_in(page, live, PHONE, start=page.url.removeprefix(live.url))
    page.wait_for_url(live.url + "/m/found")
    expect(page.get_by_role("heading", name="网上建会")).to_be_visible()
    page.get_by_label("联系人姓名").fill("陈建华")
    page.get_by_label("单位名称").fill("宜昌峡光精密制造有限公司")
    page.get_by_label("统一社会信用代码").fill(CODE[:-1] + ("0" if CODE[-1] != "0" else "1"))
    page.get_by_label("所在地区（行政区划代码或区县名称）").fill("420502")
    page.get_by_label("详细地址").fill("宜昌市西陵区东湖大道 18 号")
    page.get_by_label("职工人数").fill("86")
    page.get_by_label("拟成立工会名称（单独建会时填写）").fill("宜昌峡光精密制造有限公司工会委员会")
    page.get_by_label("第 1 位姓名").fill("陈建华")
    page.locator("#f-f0_phone").fill("13971000001")
    page.get_by_role("button", name="提交建会申请").click()
    expect(page.locator("#e-credit_code")).to_have_text("统一社会信用代码校验位不正确，请核对")
    expect(page.locator("[data-error-summary]")).to_be_visible()
    expect(page.get_by_label("单位名称")).to_have_value("宜昌峡光精密制造有限公司")  # kept
    assert no_horizontal_scroll(page)
    shot(page, "member-found-error")
    page.get_by_label("统一社会信用代码").fill(CODE)
    page.get_by_role("button", name="提交建会申请").click()
    page.wait_for_url(re.compile(r".*/m/found/[0-9a-f-]{36}$"))
    expect(page.locator("#found-status")).to_have_text("待审核")
    expect(page.locator("#steps")).to_contain_text("提交申请")
    page.get_by_label("上传营业执照、建会申请书等材料").set_input_files([_licence(tmp_path)])
    page.get_by_role("button", name="上传", exact=True).click()
    expect(page.locator("#documents")).to_contain_text("营业执照.png")
    expect(page.locator("#steps")).to_contain_text("上传材料")
    assert no_horizontal_scroll(page)
    shot(page, "member-found-status")
    return page.url.rsplit("/", 1)[1]


def test_apply_on_a_phone_and_staff_approve(
    live: Live,
    page: Page,
    browser: Browser,
    browser_context_args: dict[str, Any],
    tmp_path: Path,
) -> None:
    app_id = _apply_on_the_phone(live, page, tmp_path)

    desk = browser.new_context(**browser_context_args).new_page()
    staff_sign_in(desk, live, "xl.admin", "/console/founding")
    row = desk.locator("#founding-queue tbody tr", has_text="宜昌峡光精密制造有限公司")
    expect(row).to_have_count(1)
    row.get_by_role("link").first.click()
    expect(desk.locator("#founding-status")).to_have_text("待审核")
    expect(desk.locator("#documents")).to_contain_text("营业执照.png")
    expect(desk.locator("#founders")).to_contain_text("陈建华")
    shot(desk, "console-founding-application")
    desk.locator("#action-picker").get_by_role("link", name="要求补充材料").click()
    desk.get_by_label("需要补充的内容").fill("请补充职工代表大会决议")
    desk.get_by_role("button", name="要求补充材料").click()
    expect(desk.locator("#founding-status")).to_have_text("待补充材料")

    # The applicant sees what is asked for, corrects the form and resubmits.
    page.reload()
    expect(page.locator("#found-status")).to_have_text("待补充材料")
    expect(page.locator("#asked")).to_contain_text("请补充职工代表大会决议")
    page.get_by_label("职工人数").fill("90")
    page.get_by_label("补充说明（选填）").fill("已补充决议")
    page.get_by_role("button", name="重新提交").click()
    page.wait_for_url(live.url + f"/m/found/{app_id}")
    expect(page.locator("#found-status")).to_have_text("待审核")
    expect(page.locator("#steps")).to_contain_text("补充后重新提交")

    desk.reload()
    expect(desk.locator("#founding-status")).to_have_text("待审核")
    desk.get_by_role("button", name="批准建会").click()
    expect(desk.locator("#founding-status")).to_have_text("已批准")
    expect(desk.locator("#founding-result")).to_contain_text("宜昌峡光精密制造有限公司工会委员会")
    shot(desk, "console-founding-approved")
    desk.locator("#poster-link").click()
    expect(desk.locator("body")).to_contain_text("宜昌峡光精密制造有限公司工会委员会")

    sent = [text for to, text in live.app.state.sender.sent if to.endswith(PHONE)]
    assert any("初始密码" in text for text in sent), sent
    page.reload()
    expect(page.locator("#found-status")).to_have_text("已批准")
    expect(page.locator("#invite-link")).to_be_visible()
    assert no_horizontal_scroll(page)
    shot(page, "member-found-approved")


def _register(tmp_path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["统一社会信用代码", "单位名称", "职工人数"])
    ws.append([CODE, "宜昌峡光精密制造有限公司", 86])
    ws.append(["91420502MA4F000010", "校验位错误的公司", 10])
    path = tmp_path / "企业名录.xlsx"
    wb.save(path)
    return path


def test_register_import_and_founding_rate_chart(live: Live, page: Page, tmp_path: Path) -> None:
    staff_sign_in(page, live, "yc.admin", "/console/founding/coverage")
    expect(page.locator("#coverage")).to_contain_text("西陵区总工会")
    page.get_by_label("所属区县总工会").select_option(label="西陵区总工会")
    page.get_by_label("名录文件").set_input_files([_register(tmp_path)])
    page.get_by_role("button", name="导入").click()
    expect(page.locator("#register-counts")).to_contain_text("新增 1 家")
    expect(page.locator("#register-problems")).to_contain_text("统一社会信用代码")
    page.reload()
    expect(page.locator('#coverage tr[data-org="HB-YC-XL"]')).to_contain_text("1")
    expect(page.locator("canvas[data-chart=coverage]")).to_have_attribute("data-drawn", "true")
    shot(page, "console-founding-coverage")
