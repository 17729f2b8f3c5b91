"""Settlement as staff do it: a month's statements, confirm, mark paid with a reference, export
for finance; the merchant then reads the status through the terminal API."""

from __future__ import annotations

import io
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from merchants.terminal.wiring import services_of
from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support.console import sign_in
from tests.support.shop import Member, member_phone, terminal

ZONE = ZoneInfo("Asia/Shanghai")


def _redeem(live: Live, key: str, member: Member, amount: int) -> str:
    r = httpx.post(
        live.url + "/api/v1/redemptions",
        json={"code": member.token(), "program_id": _dining(live), "amount_fen": amount},
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _dining(live: Live) -> str:
    return next(p["id"] for p in live.demo["programs"] if p["code"] == "YC-DINING")


def test_confirm_pay_and_export_a_month(live: Live, page: Page) -> None:
    till = terminal(live, "dining")
    key = till["key"]
    member = Member(live, member_phone(live))
    _redeem(live, key, member, 8000)  # 800 off, owed by the federation
    voided = _redeem(live, key, member, 5000)
    r = httpx.post(
        f"{live.url}/api/v1/redemptions/{voided}/reversal",
        json={"reason": "顾客退单"},
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    member.close()
    # The month ends: the merchant API's clock (the console's too) moves into the next one.
    now = datetime.now(ZONE)
    month = now.strftime("%Y-%m")
    nxt = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, 1, tzinfo=ZONE)
    services_of(live.app.state).clock = lambda: nxt

    sign_in(page, live, "yc.merchants", "/console/settlements")
    expect(page.get_by_role("heading", name=f"商户结算 · {month}")).to_be_visible()
    row = page.locator("#settlements tbody tr", has_text="老街面馆")
    expect(row).to_contain_text("未确认")
    expect(row).to_contain_text("¥8.00")
    expect(row).to_contain_text("撤销 1")
    assert no_horizontal_scroll(page)
    shot(page, "settle-open")

    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="确认结算单").click()
    expect(row).to_contain_text("已确认")
    row.get_by_text("登记付款").click()
    row.get_by_label("付款凭证号").fill("HB-PAY-2026-0001")
    shot(page, "settle-pay-form")
    row.get_by_role("button", name="确认已付款").click()
    expect(row).to_contain_text("已付款")
    expect(row).to_contain_text("HB-PAY-2026-0001")
    shot(page, "settle-paid")

    with page.expect_download() as dl:
        page.get_by_role("link", name="导出 Excel（财务）").click()
    assert dl.value.suggested_filename == f"settlements-{month}.xlsx"
    wb = load_workbook(io.BytesIO(dl.value.path().read_bytes()))
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    mine = next(r for r in rows if r[0] == "老街面馆")
    assert (
        mine[3] == "已付款" and mine[4] == 1 and mine[9] == 8.0 and mine[12] == "HB-PAY-2026-0001"
    )
    assert [r[2] for r in wb.worksheets[1].iter_rows(values_only=True)][1:] == ["YC-DINING"]

    # The merchant reads the status at its till.
    got = httpx.get(
        f"{live.url}/api/v1/settlements/{month}", headers={"Authorization": f"Bearer {key}"}
    )
    assert got.status_code == 200, got.text
    assert got.json()["status"] == "paid" and got.json()["payment_ref"] == "HB-PAY-2026-0001"


def test_english_and_a_refusal_in_the_page(live: Live, page: Page) -> None:
    sign_in(page, live, "yc.merchants", "/console/settlements")
    # The running month cannot be confirmed: no button, and the page says why.
    now = datetime.now(ZONE).strftime("%Y-%m")
    page.goto(f"{live.url}/console/settlements?month={now}")
    expect(page.locator("#month-open")).to_contain_text("本月尚未结束")
    expect(page.get_by_role("button", name="确认结算单")).to_have_count(0)
    page.goto(f"{live.url}/console/settlements?month={now}&lang=en")
    expect(page.get_by_role("heading", name=f"Settlements · {now}")).to_be_visible()
    expect(page.locator("#month-open")).to_contain_text("has not ended yet")
    shot(page, "settle-english")
    page.goto(f"{live.url}/console/settlements?month=2026-13")
    expect(page.locator("body")).to_contain_text("月份格式应为 YYYY-MM")
    shot(page, "settle-bad-month")
