"""The card page (flow 5 of the issue): fits a 360 px phone, the QR refreshes itself before it
expires with a visible countdown, and it says so when the phone is offline or the card revoked.

The page's clock is Playwright's fake clock (the server's is real): the script keeps times
relative to when it fetched the codes, so advancing the page's clock is all a refresh needs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support.member_steps import read_qr, sign_in, staff, verify_offline

REFRESHES = re.compile(r"(\d+) 秒后自动刷新")


def _countdown(page: Page) -> int:
    expect(page.locator("#qr-status")).to_have_text(REFRESHES)
    m = REFRESHES.search(page.locator("#qr-status").inner_text())
    assert m is not None
    return int(m.group(1))


def _next_qr(page: Page, old: str) -> str:
    """Wait for the QR to show another code than ``old``."""
    for _ in range(50):
        text = read_qr(page)
        if text != old:
            return text
        page.wait_for_timeout(100)
    raise AssertionError("the QR did not change")


def test_card_fits_360px_and_qr_refreshes_before_expiry(live: Live, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.clock.install()
    member = live.demo["members"][1]
    sign_in(page, live, member["phone"])
    page.goto(live.url + "/m/card")
    card = next(c for c in live.demo["cards"] if c["member_no"] == member["member_no"])
    expect(page.locator("#card-number")).to_have_text(
        " ".join(card["number"][i : i + 4] for i in range(0, 16, 4))
    )
    expect(page.get_by_text(member["name"])).to_be_visible()
    left = _countdown(page)
    assert no_horizontal_scroll(page)
    shot(page, "member-card-360")

    first = read_qr(page)
    claims = verify_offline(live, first)
    shown_at = page.evaluate("Date.now()")

    page.clock.run_for((left + 1) * 1000)  # past the countdown, on the page's clock
    second = _next_qr(page, first)
    switched_at = page.evaluate("Date.now()")
    # Refreshed before the first code expired, and the new one verifies (it may start at the
    # switch, which on the page's fake clock can be ahead of the server's).
    assert switched_at < claims.expires * 1000, (shown_at, switched_at, claims.expires)
    later = verify_offline(
        live,
        second,
        max(datetime.now(UTC), claims.not_before_at + timedelta(seconds=left + 1)),
    )
    assert later.card_index == claims.card_index
    assert _countdown(page) > 0


def test_offline_then_online_and_revoked(live: Live, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.clock.install()
    member = live.demo["members"][2]
    sign_in(page, live, member["phone"])
    page.goto(live.url + "/m/card")
    _countdown(page)
    first = read_qr(page)

    page.context.set_offline(True)
    status = page.locator("#qr-status")
    expect(status).to_contain_text("网络已断开：二维码仍可使用")
    expect(status).to_have_class(re.compile("is-warn"))
    shot(page, "member-card-offline")
    page.clock.run_for(5 * 60 * 1000)  # longer than the codes fetched last cover
    expect(status).to_have_text("网络已断开，二维码已过期。请联网后刷新。")
    expect(page.locator("#qr-image svg")).to_have_count(0)
    shot(page, "member-card-offline-expired")

    page.context.set_offline(False)
    expect(status).to_have_text(REFRESHES)
    assert read_qr(page) != first

    officer = staff(live, "admin")
    mid = officer.get("/api/v1/members", params={"member_no": member["member_no"]}).json()["items"][
        0
    ]["id"]
    cid = officer.get(f"/api/v1/members/{mid}/cards").json()["current"]["id"]
    r = officer.post(f"/api/v1/members/{mid}/cards/{cid}/revoke", json={"reason": "违规转借"})
    assert r.status_code == 200, r.text
    page.clock.run_for(31 * 1000)  # the next refresh learns it
    expect(status).to_have_text("会员卡已注销或已补办新卡，此码不能再使用。")
    expect(page.locator("#qr-image svg")).to_have_count(0)
    shot(page, "member-card-revoked")
    page.reload()
    expect(page.get_by_role("alert")).to_contain_text("会员卡已注销")


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def test_member_pages_work_under_a_strict_csp(live: Live, page: Page) -> None:
    """The CSP that is coming (no inline script or style): nothing refused, the QR still shows
    and refreshes, the htmx forms still swap their errors in."""
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )

    def with_csp(route: Any) -> None:
        resp = route.fetch()
        route.fulfill(response=resp, headers={**resp.headers, "content-security-policy": CSP})

    page.route("**/m/**", with_csp)
    page.set_viewport_size({"width": 360, "height": 740})
    page.clock.install()
    sign_in(page, live, live.demo["members"][4]["phone"])
    page.goto(live.url + "/m/card")
    left = _countdown(page)
    first = read_qr(page)
    page.clock.run_for((left + 1) * 1000)
    _next_qr(page, first)
    page.goto(live.url + "/m/account/leave")
    page.get_by_role("button", name="确认离会").click()
    expect(page.locator("#e-confirm")).to_be_visible()
    page.goto(live.url + "/m/benefits")
    expect(page.get_by_role("heading", name="我的权益")).to_be_visible()
    assert violations == []
