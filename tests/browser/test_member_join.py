"""Joining on the member pages: flow 1 of the issue (invite link → sign in → apply → approved
→ a card QR that verifies) and the join form's errors beside their fields."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support.member_steps import (
    NEW_ID,
    NEW_PHONE,
    read_qr,
    sign_in,
    staff,
    terminal,
    union_id,
    verify_offline,
)

UNION = "西陵区新就业形态劳动者联合工会"


def test_invite_sign_in_apply_approve_card_qr_verifies(live: Live, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    officer = staff(live, "xl.admin")
    invite = officer.post(
        f"/api/v1/orgs/{union_id(live, '新就业形态')}/invites",
        json={"label": "骑手驿站海报", "valid_days": 30},
    )
    assert invite.status_code == 201, invite.text
    token = invite.json()["url"].split("invite=")[1]

    # The worker scans the poster: the invite link asks for sign-in first, then comes back.
    sign_in(page, live, NEW_PHONE, start=f"/m/join?invite={token}")
    expect(page).to_have_url(live.url + f"/m/join?invite={token}")
    expect(page.get_by_text(UNION)).to_be_visible()
    expect(page.get_by_text("骑手驿站海报")).to_be_visible()
    page.get_by_label("姓名").fill("王小骑")
    page.get_by_label("身份证号码").fill(NEW_ID)
    page.get_by_label("就业形态").select_option("platform_worker")
    page.get_by_label("工作单位或平台").fill("某外卖平台")
    page.get_by_label("岗位").fill("外卖骑手")
    page.get_by_label("我已阅读并同意《隐私政策》").check()
    page.get_by_label("我已阅读并同意《入会须知》").check()
    assert no_horizontal_scroll(page)
    shot(page, "member-join-invite")
    page.get_by_role("button", name="提交申请").click()

    page.wait_for_url(live.url + "/m/status")
    expect(page.get_by_role("heading", name=UNION)).to_be_visible()
    expect(page.get_by_text("审核中")).to_be_visible()
    shot(page, "member-status-pending")

    # console page: see tests/browser/test_console_*.py
    pending = officer.get("/api/v1/approvals/applications", params={"status": "pending"}).json()
    app_id = next(a["id"] for a in pending["items"] if a["name"] == "王小骑")
    approved = officer.post(f"/api/v1/approvals/applications/{app_id}/approve")
    assert approved.status_code == 200, approved.text

    page.reload()
    expect(page.get_by_text("已通过")).to_be_visible()
    page.get_by_role("link", name="查看会员卡").first.click()
    page.wait_for_url(live.url + "/m/card")
    expect(page.locator(".m-card-union")).to_have_text(UNION)
    expect(page.get_by_text("秒后自动刷新")).to_be_visible()
    shot(page, "member-card-new")

    text = read_qr(page)
    claims = verify_offline(live, text)  # signature, expiry, not revoked
    assert claims.expires_at > datetime.now(UTC)
    # And it is this worker's card: a shop's scan names the card the page shows.
    till, _ = terminal(live, "cinema")
    scan = till.post("/api/v1/scans", json={"code": text})
    assert scan.status_code == 200, scan.text
    shown = page.locator("#card-number").inner_text().replace(" ", "")
    assert scan.json()["card"]["number_masked"].replace(" ", "")[-4:] == shown[-4:]
    assert scan.json()["member"]["union_name"] == UNION


def test_join_by_region_then_errors_summarised_with_the_search_kept(live: Live, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, live, NEW_PHONE)
    page.goto(live.url + "/m/join")
    # No long list of every union: the picker asks for a region or a name first.
    expect(page.locator("#org_id-list li")).to_have_count(0)
    expect(page.locator("#org_id-list")).to_contain_text("请选择所在地区")
    # Each choice brings the next select. htmx wires a swapped-in select after its settle
    # delay: wait as a person would before choosing from it.
    page.get_by_label("省份").select_option(label="湖北省")
    expect(page.get_by_label("城市")).to_be_visible()
    page.wait_for_timeout(300)
    page.get_by_label("城市").select_option(label="宜昌市")
    expect(page.get_by_label("区县")).to_be_visible()
    page.wait_for_timeout(300)
    page.get_by_label("区县").select_option(label="伍家岗区")
    expect(page.locator("#org_id-list li")).to_have_count(4)
    expect(page.locator("#org_id-list")).not_to_contain_text("西陵区")
    # A name narrows the region's unions further.
    page.get_by_label("工会或单位名称").press_sequentially("物流", delay=100)
    expect(page.locator("#org_id-list li")).to_have_count(1, timeout=10_000)
    shot(page, "member-join-region")

    # Sent empty otherwise: a summary at the top names every problem, the first field has the
    # focus, each error is also beside its field, and the region and the search stay.
    page.get_by_role("button", name="提交申请").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_contain_text("请修改以下 5 处后再提交")
    for text in (
        "工会：请选择要加入的工会",
        "姓名：姓名不能为空",
        "入会须知：请阅读并同意入会须知",
    ):
        expect(summary).to_contain_text(text)
    expect(page.locator("#f-org_id-q")).to_be_focused()
    expect(page.locator("#f-org_id-q")).to_have_value("物流")
    expect(page.get_by_label("区县")).to_have_value("420503")
    expect(page.locator("#org_id-list li")).to_have_count(1)
    for name, text in {
        "name": "姓名不能为空",
        "id_number": "身份证号码不能为空",
        "org_id": "请选择要加入的工会",
        "consent": "请阅读并同意隐私政策",
        "join_terms": "请阅读并同意入会须知",
    }.items():
        expect(page.locator(f"#e-{name}")).to_have_text(text)
    assert no_horizontal_scroll(page)
    shot(page, "member-join-summary")

    # A link in the summary takes the person to its field.
    summary.get_by_role("link", name="姓名：姓名不能为空").click()
    expect(page.get_by_label("姓名")).to_be_focused()

    page.get_by_label("宜昌三峡物流园有限公司工会").check()
    page.get_by_label("姓名").fill("李四")
    page.get_by_label("身份证号码").fill("420502199001011234")
    page.get_by_label("我已阅读并同意《隐私政策》").check()
    page.get_by_label("我已阅读并同意《入会须知》").check()
    page.get_by_role("button", name="提交申请").click()
    expect(page.locator("#e-id_number")).to_be_visible()
    expect(page.locator("#e-name")).to_have_count(0)
    expect(page.get_by_label("身份证号码")).to_be_focused()  # the one field left to fix
    expect(page.get_by_label("姓名")).to_have_value("李四")
    expect(page.get_by_label("宜昌三峡物流园有限公司工会")).to_be_checked()
    expect(page.get_by_label("我已阅读并同意《入会须知》")).to_be_checked()
    shot(page, "member-join-errors")

    # 入会须知 is a page of its own.
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="《入会须知》").click()
    terms = opened.value
    expect(terms.get_by_role("heading", name="入会须知")).to_be_visible()
    expect(terms.locator("#terms")).to_contain_text("中国工会章程")
    terms.close()

    # An ID number that is already a member's is taken like any other (telling would reveal
    # someone's membership); staff see it flagged in the approval queue.
    officer = staff(live, "admin")
    someone = officer.get("/api/v1/members", params={"limit": 1}).json()["items"][0]
    their_id = officer.post(f"/api/v1/members/{someone['id']}/identity").json()["id_number"]
    page.get_by_label("身份证号码").fill(their_id)
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url("**/m/status")
    expect(page.locator("body")).not_to_contain_text("已是会员")
