"""The dashboard: key figures and four Chart.js charts fed by /console/dashboard.json."""

from __future__ import annotations

import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, shot
from tests.support.console import sign_in


def redeem_once(live: Live) -> int:
    """A demo member redeems one benefit at a demo terminal (through the terminal API); the
    discount in fen, so the dashboard has a redemption and budget use to draw."""
    for person in live.demo["members"]:
        phone = person["phone"]
        member = httpx.Client(base_url=live.url)
        assert member.post("/api/v1/me/otp", json={"phone": phone}).status_code == 202
        e164 = phone if phone.startswith("+") else "+86" + phone
        signed = member.post(
            "/api/v1/me/session", json={"phone": phone, "code": live.sign_in_code(e164)}
        )
        assert signed.status_code == 200, signed.text
        for terminal in live.demo["terminals"]:
            pos = httpx.Client(
                base_url=live.url, headers={"Authorization": f"Bearer {terminal['key']}"}
            )
            code = member.get("/api/v1/me/card/token").json()["text"]
            scan = pos.post("/api/v1/scans", json={"code": code, "amount_fen": 10_000}).json()
            if not scan.get("benefits"):
                continue
            benefit = scan["benefits"][0]
            done = pos.post(
                "/api/v1/redemptions",
                json={"code": code, "program_id": benefit["program_id"], "amount_fen": 10_000},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            assert done.status_code == 201, done.text
            return int(benefit["benefit"].get("discount_fen") or 0)
    raise AssertionError("no demo member could redeem anything at a demo terminal")


def _redemption_totals(page: Page, live: Live) -> tuple[int, int]:
    data = page.request.get(live.url + "/console/dashboard.json").json()
    lines, money = data["redemptions"]["datasets"]
    return sum(lines["data"]), round(sum(money["data"]) * 100)


def test_dashboard_draws_the_four_charts(live: Live, page: Page) -> None:
    """Every chart draws (members who joined during the last 18 months are in the demo) and a
    new redemption adds to the redemption chart."""
    sign_in(page, live, "yc.admin")
    before_lines, before_fen = _redemption_totals(page, live)
    data = page.request.get(live.url + "/console/dashboard.json").json()
    assert sum(data["members"]["datasets"][0]["data"]) > 0  # joined in the last 12 months
    assert sum(data["budget"]["datasets"][0]["data"]) > 0
    discount = redeem_once(live)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.reload()
    expect(page.get_by_role("heading", name="概览 · 宜昌市总工会")).to_be_visible()
    charts = page.locator("[data-charts-src]")
    expect(charts).to_have_attribute("data-ready", "true")
    for key in ("members", "joins", "redemptions", "budget"):
        expect(page.locator(f'canvas[data-chart="{key}"]')).to_have_attribute("data-drawn", "true")
    assert int(page.locator("#stat-active").inner_text()) > 0
    assert _redemption_totals(page, live) == (before_lines + 1, before_fen + discount)
    assert page.evaluate("Object.keys(window.Chart.instances).length") == 4
    assert not errors, errors
    shot(page, "console-dashboard")


def test_dashboard_data_is_scoped_to_the_officer(live: Live, page: Page) -> None:
    """A district officer's figures cover their district only (same check as the reports)."""
    sign_in(page, live, "xl.admin")
    expect(page.get_by_role("heading", name="概览 · 西陵区总工会")).to_be_visible()
    data = page.request.get(live.url + "/console/dashboard.json").json()
    assert set(data) >= {"members", "joins", "redemptions", "budget"}
    other = page.request.get(live.url + "/console/dashboard.json?org_id=" + _org_id(page, live))
    assert other.status == 404


def _org_id(page: Page, live: Live) -> str:
    """The id of a district the xl.admin officer does not manage (伍家岗区)."""
    items = page.request.get(live.url + "/api/v1/join/unions?q=伍家岗").json()["items"]
    return str(items[0]["id"])


def test_dashboard_to_do_panel_and_refusals_in_red(live: Live, page: Page) -> None:
    """The to-do panel counts what waits, each line a link to it; 不予批准 is drawn red."""
    sign_in(page, live, "yc.admin")
    todo = page.locator("#todo")
    expect(todo.locator("li")).to_have_count(5)
    expect(todo).to_contain_text("待审批入会申请")
    expect(todo).to_contain_text("已超时服务申请")
    expect(todo).to_contain_text("困难职工")
    overdue = todo.locator('li[data-todo="service_overdue"]')
    assert int(overdue.locator(".count").inner_text()) > 0  # the demo has overdue requests
    expect(overdue.locator(".count")).to_have_class("count err")
    pending = int(page.locator("#stat-pending").inner_text())
    assert pending > 0
    expect(page.locator("[data-charts-src]")).to_have_attribute("data-ready", "true")
    colours = page.evaluate(
        """() => Object.values(window.Chart.instances)
            .flatMap(c => c.data.datasets.map(d => [d.label, d.borderColor]))"""
    )
    by_label = dict(colours)
    assert by_label["不予批准"] == "#cf222e", by_label
    assert by_label["批准"] == "#1a7f37", by_label
    shot(page, "console-dashboard-todo")
    todo.get_by_role("link", name="待审批入会申请").click()
    page.wait_for_url("**/console/approvals")
    expect(page.locator("#applications tbody tr, table tbody tr").first).to_be_visible()
