"""Steps shared by the member page tests (tests/browser/test_member_*.py): signing in on the
page, staff and terminal calls through the JSON API, and reading the card's QR with zxing-cpp."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from cardsvc.cards.published import STATUS_LIST_PATH
from cardsvc.cards.token import Claims
from cardsvc.cards.verify import verify
from tests.browser.conftest import Live


def _check_digit(body17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a resident ID number."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(body17))
    return body17 + "10X98765432"[total % 11]


NEW_ID = _check_digit("42050219950315201")  # not in the demo federation
NEW_PHONE = "17700001234"  # nor this


def sign_in(page: Page, live: Live, phone: str, *, start: str | None = None) -> None:
    """Sign in on /m/login (or the sign-in page that ``start`` redirects to) with the code
    the in-memory SMS sender 'sent'."""
    page.goto(live.url + (start or "/m/login"))
    expect(page.get_by_role("heading", name="手机号登录")).to_be_visible()
    page.get_by_label("手机号").fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_text("验证码已发送")).to_be_visible()
    page.get_by_label("验证码").fill(live.sign_in_code("+86" + phone.removeprefix("+86")))
    page.get_by_label("我已阅读并同意").check()
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/m/login" not in url)


def staff(live: Live, username: str = "xl.admin") -> httpx.Client:
    """A staff member's API client, signed in, sending the CSRF token."""
    password = next(s["password"] for s in live.demo["staff"] if s["username"] == username)
    c = httpx.Client(base_url=live.url, timeout=30)
    r = c.post("/api/v1/staff/session", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    c.headers["x-csrf-token"] = r.json()["csrf_token"]
    return c


def terminal(live: Live, category: str) -> tuple[httpx.Client, dict[str, Any]]:
    """A demo shop's till (merchant API client) of ``category`` and its demo.json entry."""
    t = next(t for t in live.demo["terminals"] if t["category"] == category)
    c = httpx.Client(base_url=live.url, timeout=30, headers={"Authorization": f"Bearer {t['key']}"})
    return c, t


def program_id(live: Live, code: str) -> str:
    return str(next(p["id"] for p in live.demo["programs"] if p["code"] == code))


def union_id(live: Live, name_part: str) -> str:
    r = httpx.get(live.url + "/api/v1/join/unions", params={"q": name_part}, timeout=30)
    return str(r.json()["items"][0]["id"])


def read_qr(page: Page) -> str:
    """The text of the card page's QR, decoded by zxing-cpp from a screenshot of it."""
    expect(page.locator("#qr-image svg")).to_have_count(1)
    img = Image.open(io.BytesIO(page.locator("#qr-image").screenshot()))
    codes = zxingcpp.read_barcodes(
        img, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    assert codes, "zxing-cpp found no QR code on the card page"
    return str(codes[0].text)


def verify_offline(live: Live, text: str, now: datetime | None = None) -> Claims:
    """Verify a token as a merchant terminal would: with the published JWKS and status list."""
    jwks = httpx.get(live.url + "/.well-known/jwks.json", timeout=30).text
    status_list = httpx.get(live.url + STATUS_LIST_PATH, timeout=30).text
    return verify(text, jwks, status_list, now or datetime.now(UTC))


def idem() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}
