"""Steps shared by the console's membership browser tests: a member's phone (the member JSON
API, signed in with a one-time code) and the officer's own API calls from the console page."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import Page

from cardsvc.membership.service import PRIVACY_VERSION
from tests.browser.conftest import ARTIFACTS, Live
from tests.support.console import resident_id


def phone_client(live: Live, phone: str) -> httpx.Client:
    """A member's phone signed in with the code the in-memory sender 'sent'."""
    member = httpx.Client(base_url=live.url)
    assert member.post("/api/v1/me/otp", json={"phone": phone}).status_code == 202
    resp = member.post(
        "/api/v1/me/session",
        json={"phone": phone, "code": live.sign_in_code("+86" + phone.removeprefix("+86"))},
    )
    assert resp.status_code == 200, resp.text
    member.headers["x-csrf-token"] = resp.json()["csrf_token"]
    return member


def union_id(member: httpx.Client, name: str) -> str:
    unions = member.get("/api/v1/join/unions", params={"q": name}).json()["items"]
    return str(unions[0]["id"])


def apply(live: Live, phone: str, name: str, id_body17: str, union: str = "峡江机电") -> str:
    """A join application filed from a phone; its id."""
    member = phone_client(live, phone)
    resp = member.post(
        "/api/v1/me/applications",
        json={
            "name": name,
            "id_number": resident_id(id_body17),
            "org_id": union_id(member, union),
            "consent": True,
            "privacy_version": PRIVACY_VERSION,
            "employment_type": "employee",
        },
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def staff_api(page: Page, method: str, path: str, **kw: Any) -> Any:
    """An API call with the officer's console session (CSRF token from the page)."""
    token = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    resp = page.request.fetch(
        page.url.split("/console")[0] + path,
        method=method,
        headers={"x-csrf-token": token},
        **kw,
    )
    assert resp.ok, resp.text()
    return resp.json()


def look(page: Page, name: str) -> None:
    """A full-page screenshot kept with the others and under /tmp to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.screenshot(path=f"/tmp/consolemem-{name}.png", full_page=True)
