"""Helpers of the shop page tests: a member signed in through the JSON API (for fresh
rotating codes and the member's own benefit figures) and a till signed in on the page."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import Live


class Member:
    """A demo member signed in with phone + one-time code (``/api/v1/me/session``)."""

    def __init__(self, live: Live, phone: str) -> None:
        self.client = httpx.Client(base_url=live.url, timeout=10)
        self.client.post("/api/v1/me/otp", json={"phone": phone}).raise_for_status()
        code = live.sign_in_code(phone)
        r = self.client.post("/api/v1/me/session", json={"phone": phone, "code": code})
        r.raise_for_status()
        self.client.headers["x-csrf-token"] = r.json()["csrf_token"]  # for its own writes

    def token(self) -> str:
        """A fresh rotating code, as the member's phone would show it."""
        r = self.client.get("/api/v1/me/card/token")
        r.raise_for_status()
        return str(r.json()["text"])

    def claim(self, campaign_id: str) -> str:
        """Claim a voucher of an open campaign (消费券) through the member's API; its id."""
        r = self.client.post(
            f"/api/v1/me/vouchers/campaigns/{campaign_id}/claim",
            json={"request_id": uuid.uuid4().hex},
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def left(self, program_code: str, policy: str) -> int | None:
        """What the member's own benefits API says is left of ``policy`` of a programme."""
        r = self.client.get("/api/v1/me/benefits")
        r.raise_for_status()
        for item in r.json()["items"]:
            if item["code"] == program_code:
                for lim in item["limits"]:
                    if lim["policy"] == policy:
                        return lim["remaining"]
        raise AssertionError(f"{program_code}/{policy} not in the member's benefits")

    def close(self) -> None:
        self.client.close()


def member_phone(live: Live, i: int = 0) -> str:
    return str(live.demo["members"][i]["phone"])


def terminal(live: Live, category: str) -> dict[str, Any]:
    return next(t for t in live.demo["terminals"] if t["category"] == category)


def sign_in_till(page: Page, live: Live, key: str, *, redirected: bool = True) -> None:
    if redirected:  # the page a cashier opens sends them to sign in first
        page.goto(live.url + "/shop/")
        expect(page).to_have_url(re.compile(r"/shop/login\?next=/shop/?$"))
    else:
        page.goto(live.url + "/shop/login")
    page.get_by_label("终端密钥").fill(key)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/shop/?$"))
    expect(page.get_by_label("会员卡码")).to_be_focused()
    # Autofocus comes with the HTML; Enter goes through htmx only once its script has run.
    page.wait_for_load_state("load")


def wedge_scan(page: Page, code: str, amount: str = "") -> None:
    """What a keyboard-wedge scanner does: the code typed into the focused input, then Enter."""
    wedge = page.get_by_label("会员卡码")
    expect(wedge).to_be_focused()  # the page is ready for the next scan (after any result)
    if amount:
        field = page.get_by_label("消费金额（元，可先填）")
        if not field.is_visible():  # folded under a result: open the form for the next one
            page.get_by_role("button", name="扫下一位").click()
        field.fill(amount)
        wedge.focus()
    page.keyboard.type(code, delay=0)
    page.keyboard.press("Enter")


class Staff:
    """A demo staff member signed in through the staff API (to revoke keys, suspend)."""

    def __init__(self, live: Live, username: str = "yc.merchants") -> None:
        login = next(s for s in live.demo["staff"] if s["username"] == username)
        self.client = httpx.Client(base_url=live.url, timeout=10)
        r = self.client.post(
            "/api/v1/staff/session",
            json={"username": login["username"], "password": login["password"]},
        )
        r.raise_for_status()
        self.client.headers["X-CSRF-Token"] = r.json()["csrf_token"]

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.client.post(path, json=body)
        assert r.status_code < 300, r.text
        return r.json()

    def get(self, path: str) -> dict[str, Any]:
        r = self.client.get(path)
        assert r.status_code == 200, r.text
        return r.json()

    def close(self) -> None:
        self.client.close()


def redeem_button(page: Page, program: str = "YC-CINEMA") -> Any:
    return page.locator(f".shop-benefit[data-program='{program}']").get_by_role(
        "button", name=re.compile("^核销")
    )
