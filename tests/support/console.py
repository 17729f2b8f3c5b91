"""Shared steps of the console's browser tests: signing an officer in."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live

PASSWORD = "UnionCard-2026"


def sign_in(page: Page, live: Live, username: str, next_path: str = "/console") -> None:
    """Open a console page signed out, get sent to the sign-in page, sign in, come back."""
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(live.url + next_path)
    expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible()
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(live.url + next_path)


def resident_id(body17: str) -> str:
    """A resident ID number with its GB 11643 check character."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body17, weights, strict=True)) % 11]
    return body17 + check
