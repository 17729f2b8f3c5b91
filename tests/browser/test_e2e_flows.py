"""The issue's flows 1 and 2 end to end, each person on their own page in their own browser:
a worker joins through an invite link on the member pages, an officer approves in the console,
the worker's card QR decodes (zxing-cpp) to a token that verifies, a cashier types that code
into the shop page as a wedge scanner would and redeems, the worker's benefits page shows one
fewer left, and a redemption past the limit shows the quota message in Chinese."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Live, shot
from tests.support import console as console_support
from tests.support.member_steps import (
    NEW_ID,
    NEW_PHONE,
    read_qr,
    sign_in,
    staff,
    union_id,
    verify_offline,
)
from tests.support.shop import sign_in_till, terminal, wedge_scan

UNION = "西陵区新就业形态劳动者联合工会"
WORKER = "王小骑"


def _left(page: Page, live: Live, code: str) -> int:
    page.goto(live.url + "/m/benefits")
    n = page.locator(f'[data-code="{code}"] .m-left-n').get_attribute("data-remaining")
    assert n is not None
    return int(n)


def _fresh_code(page: Page, live: Live) -> str:
    """A new rotating code for the signed-in worker (what the card page shows next)."""
    r = page.request.get(live.url + "/api/v1/me/card/token")
    assert r.ok, r.text()
    return str(r.json()["text"])


def test_join_approve_show_card_redeem_at_shop_see_one_fewer(
    live: Live, browser: Browser, browser_context_args: dict[str, Any]
) -> None:
    phone_ctx = browser.new_context(**browser_context_args, viewport={"width": 360, "height": 740})
    desk_ctx = browser.new_context(**browser_context_args)
    till_ctx = browser.new_context(**browser_context_args)
    worker, officer, cashier = phone_ctx.new_page(), desk_ctx.new_page(), till_ctx.new_page()

    # 1. The union's poster: an invite link. The worker opens it, signs in, applies.
    invite = staff(live, "xl.admin").post(
        f"/api/v1/orgs/{union_id(live, '新就业形态')}/invites",
        json={"label": "骑手驿站海报", "valid_days": 30},
    )
    assert invite.status_code == 201, invite.text
    token = invite.json()["url"].split("invite=")[1]
    sign_in(worker, live, NEW_PHONE, start=f"/m/join?invite={token}")
    expect(worker.get_by_text(UNION)).to_be_visible()
    worker.get_by_label("姓名").fill(WORKER)
    worker.get_by_label("身份证号码").fill(NEW_ID)
    worker.get_by_label("就业形态").select_option("platform_worker")
    worker.get_by_label("工作单位或平台").fill("某外卖平台")
    worker.get_by_label("岗位").fill("外卖骑手")
    worker.get_by_label("我已阅读并同意《隐私政策》").check()
    worker.get_by_label("我已阅读并同意《入会须知》").check()
    worker.get_by_role("button", name="提交申请").click()
    worker.wait_for_url(live.url + "/m/status")
    expect(worker.get_by_text("审核中")).to_be_visible()

    # 2. The officer approves it in the console's queue.
    console_support.sign_in(officer, live, "xl.admin", "/console/approvals")
    row = officer.locator("tr", has_text=WORKER)
    expect(row).to_be_visible()
    row.get_by_role("button", name="批准").click()
    expect(row.get_by_text("已批准")).to_be_visible()
    shot(officer, "e2e-console-approved")

    # 3. The worker's card page: a QR that zxing-cpp decodes to a token that verifies.
    worker.reload()
    expect(worker.get_by_text("已通过")).to_be_visible()
    worker.goto(live.url + "/m/card")
    expect(worker.get_by_text("秒后自动刷新")).to_be_visible()
    shown = read_qr(worker)
    assert verify_offline(live, shown).expires_at > datetime.now(UTC)
    shot(worker, "e2e-member-card")
    before = _left(worker, live, "YC-CINEMA")
    assert before == 2

    # 4. The cashier types that code into the shop page (a wedge scanner) and redeems.
    sign_in_till(cashier, live, terminal(live, "cinema")["key"])
    wedge_scan(cashier, shown, amount="45")
    benefit = cashier.locator(".shop-benefit[data-program='YC-CINEMA']")
    expect(benefit.locator("[data-policy='monthly_tickets'] .left")).to_have_text("2 份")
    benefit.get_by_role("button", name="核销 · 职工观影补贴").click()
    expect(cashier.locator(".shop-done")).to_contain_text("核销成功")
    shot(cashier, "e2e-shop-redeemed")

    # 5. The worker's benefits page: one fewer left.
    assert _left(worker, live, "YC-CINEMA") == before - 1
    shot(worker, "e2e-member-benefits")

    # 6. Past the limit (two tickets with one left): the quota message, in Chinese.
    wedge_scan(cashier, _fresh_code(worker, live), amount="90")
    benefit = cashier.locator(".shop-benefit[data-program='YC-CINEMA']")
    # This scan's answer, not the last one's panel (a slow swap under load).
    expect(benefit.locator("[data-policy='monthly_tickets'] .left")).to_have_text("1 份")
    benefit.get_by_label("数量").fill("2")
    benefit.get_by_role("button", name="核销 · 职工观影补贴").click()
    refused = benefit.locator("[data-outcome='refused'][data-code='quota_exhausted']")
    expect(refused).to_contain_text("本期额度不足")
    shot(cashier, "e2e-shop-quota")
    assert _left(worker, live, "YC-CINEMA") == before - 1

    for ctx in (phone_ctx, desk_ctx, till_ctx):
        ctx.close()
