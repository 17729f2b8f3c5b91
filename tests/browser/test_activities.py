"""Activities in the browser: a member signs up and cancels on the phone (360 px), the venue's
check-in page records a scan once (360 px, wedge scanner), and staff publish an activity in the
console (1366 px)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support import console
from tests.support.activities import URL, activity_body
from tests.support.member_steps import sign_in, staff


def _org(officer: httpx.Client, code: str) -> str:
    found = officer.get("/api/v1/orgs", params={"q": code}).json()["items"]
    return str(next(o["id"] for o in found if o["code"] == code))


def _publish(live: Live, **kw: object) -> dict:
    officer = staff(live, "admin")
    resp = officer.post(URL, json=activity_body(_org(officer, "HB"), **kw))
    assert resp.status_code == 201, resp.text
    return resp.json()


def _member_api(live: Live, phone: str) -> httpx.Client:
    c = httpx.Client(base_url=live.url, timeout=30)
    assert c.post("/api/v1/me/otp", json={"phone": phone}).status_code == 202
    code = live.sign_in_code("+86" + phone.removeprefix("+86"))
    r = c.post("/api/v1/me/session", json={"phone": phone, "code": code})
    assert r.status_code == 200, r.text
    c.headers["x-csrf-token"] = r.json()["csrf_token"]
    return c


def test_member_signs_up_and_cancels(live: Live, page: Page) -> None:
    a = _publish(live, title="职工趣味运动会", capacity=1)
    page.set_viewport_size({"width": 360, "height": 740})
    member = live.demo["members"][0]
    sign_in(page, live, member["phone"])
    page.goto(live.url + "/m/requests")
    page.get_by_role("link", name="活动与培训").click()
    page.wait_for_url(live.url + "/m/activities")
    page.get_by_role("link", name="职工趣味运动会").click()
    page.wait_for_url(live.url + f"/m/activities/{a['id']}")
    expect(page.locator("#places")).to_have_text("0/1")
    page.get_by_role("button", name="我要报名").click()
    expect(page.locator("#signup-status")).to_have_text("已报名")
    expect(page.locator("#places")).to_have_text("1/1")
    assert no_horizontal_scroll(page)
    shot(page, "member-activity-signed-up")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="取消报名").click()
    expect(page.get_by_role("button", name="我要报名")).to_be_visible()
    expect(page.locator("#places")).to_have_text("0/1")


def test_venue_check_in_page_records_a_scan_once(live: Live, page: Page) -> None:
    a = _publish(live, title="安全生产培训", kind="training", training_minutes=120)
    phone = next(c["phone"] for c in live.demo["cards"] if c["phone"])
    member = _member_api(live, phone)
    assert member.post(f"/api/v1/me/activities/{a['id']}/signup").status_code == 201
    token = member.get("/api/v1/me/card/token").json()["text"]
    console.sign_in(page, live, "admin", f"/console/activities/{a['id']}/checkin")
    page.set_viewport_size({"width": 360, "height": 740})
    page.reload()
    wedge = page.get_by_label("会员卡码")
    expect(wedge).to_be_focused()
    page.wait_for_load_state("networkidle")
    wedge.fill(token)
    wedge.press("Enter")
    result = page.locator("#checkin-result")
    expect(result).to_have_attribute("data-result", "checked_in")
    expect(result).to_contain_text("签到成功")
    assert no_horizontal_scroll(page)
    shot(page, "venue-check-in")
    wedge.fill(token)
    wedge.press("Enter")
    expect(result).to_have_attribute("data-result", "already_checked_in")
    wedge.fill("不是会员卡")
    wedge.press("Enter")
    expect(result).to_have_attribute("data-result", "refused")
    roster = staff(live, "admin").get(f"{URL}/{a['id']}/signups").json()
    assert roster["counts"]["checked_in"] == 1


def test_staff_publish_an_activity(live: Live, page: Page) -> None:
    console.sign_in(page, live, "xl.admin", "/console/activities")
    page.get_by_role("link", name="发布活动").click()
    page.wait_for_url(live.url + "/console/activities/new")
    page.get_by_role("button", name="发布").click()
    expect(page.locator("#e-org_id")).to_be_visible()
    expect(page.locator("#e-starts_at")).to_be_visible()
    page.get_by_label("主办工会").select_option(label="西陵区总工会")
    page.get_by_label("类型").select_option("training")
    page.get_by_label("名称").fill("叉车操作培训")
    page.get_by_label("地点").fill("西陵区职工培训中心")
    now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(second=0, microsecond=0)

    def local(delta: timedelta) -> str:
        return (now + delta).strftime("%Y-%m-%dT%H:%M")

    page.get_by_label("开始时间").fill(local(timedelta(days=3)))
    page.get_by_label("结束时间").fill(local(timedelta(days=3, hours=4)))
    page.get_by_label("报名开始").fill(local(timedelta(0)))
    page.get_by_label("报名截止").fill(local(timedelta(days=2)))
    page.get_by_label("取消截止").fill(local(timedelta(days=2)))
    page.get_by_label("名额").fill("30")
    page.get_by_label("每人费用（元）").fill("200")
    page.get_by_label("工会补贴（元）").fill("300")  # more than it costs
    page.get_by_label("学时（培训课程）").fill("4")
    page.get_by_role("button", name="发布").click()
    expect(page.locator("#e-subsidy")).to_have_text("补贴不能超过费用")
    expect(page.get_by_label("名称")).to_have_value("叉车操作培训")  # kept
    page.get_by_label("工会补贴（元）").fill("150")
    page.get_by_label("最低年龄").fill("18")
    page.get_by_role("button", name="发布").click()
    page.wait_for_url(lambda url: "/console/activities/" in url and not url.endswith("/new"))
    expect(page.get_by_role("heading", name="叉车操作培训")).to_be_visible()
    expect(page.locator("#counts")).to_contain_text("0/30")
    assert no_horizontal_scroll(page)
    shot(page, "console-activity-published")
    activity_id = page.url.rsplit("/", 1)[1]
    a = staff(live, "xl.admin").get(f"{URL}/{activity_id}").json()
    assert a["cost_fen"] == 20000 and a["subsidy_fen"] == 15000
    assert a["training_minutes"] == 240 and a["eligibility"]["min_age"] == 18
