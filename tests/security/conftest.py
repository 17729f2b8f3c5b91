"""The whole app (``create_app``) on the seeded demo federation, and sign-in helpers that give
each kind of caller its own credentials without sharing the test client's cookie jar."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.demo.seed import DEMO_PASSWORD
from cardsvc.kernel.settings import Settings
from cardsvc.memberauth.senders import RecordingSender
from tests.conftest import make_test_settings
from tests.support.apps import app_for
from tests.support.contract import checks_contract, contract_client

Client = AsyncTestClient[Litestar]

# One line per test request drowns the failure report.
logging.getLogger("httpx").setLevel(logging.WARNING)


@pytest.fixture
def settings(db_url: str, var_dir: Path) -> Settings:
    return make_test_settings(db_url, var_dir)


@pytest.fixture
async def app(settings: Settings, engine: AsyncEngine) -> Litestar:
    app = app_for(settings)
    app.state.sender = RecordingSender()
    return app


@pytest.fixture
async def client(app: Litestar, request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    """Every response checked against the published contract (tests/support/contract.py)."""
    async with contract_client(app, check=checks_contract(request)) as c:
        yield c


@dataclass
class Caller:
    """Credentials of one caller: the cookie and CSRF header it sends, or a terminal key."""

    kind: str  # "staff", "member", "terminal", "anonymous"
    cookie: str = ""
    csrf: str = ""
    bearer: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def headers(self, *, mutation: bool = True) -> dict[str, str]:
        h: dict[str, str] = {}
        if self.cookie:
            h["cookie"] = self.cookie
        if self.csrf and mutation:
            h["x-csrf-token"] = self.csrf
        if self.bearer:
            h["authorization"] = f"Bearer {self.bearer}"
        return h


async def staff_caller(client: Client, username: str, password: str = DEMO_PASSWORD) -> Caller:
    client.cookies.clear()
    r = await client.post(
        "/api/v1/staff/session", json={"username": username, "password": password}
    )
    assert r.status_code == 200, r.text
    token = r.cookies["uc_staff"]
    client.cookies.clear()
    return Caller("staff", cookie=f"uc_staff={token}", csrf=r.json()["csrf_token"])


def last_code(app: Litestar, phone: str) -> str:
    sender: RecordingSender = app.state.sender
    texts = [t for p, t in sender.sent if p.endswith(phone[-11:])]
    match = re.search(r"验证码 (\d{6})", texts[-1])
    assert match, texts
    return match.group(1)


async def member_caller(client: Client, app: Litestar, phone: str) -> Caller:
    client.cookies.clear()
    r = await client.post("/api/v1/me/otp", json={"phone": phone})
    assert r.status_code == 202, r.text
    r = await client.post(
        "/api/v1/me/session", json={"phone": phone, "code": last_code(app, phone)}
    )
    assert r.status_code == 200, r.text
    token = r.cookies["uc_member"]
    client.cookies.clear()
    return Caller(
        "member", cookie=f"uc_member={token}", csrf=r.json()["csrf_token"], extra=r.json()
    )


def terminal_caller(terminal: dict[str, Any]) -> Caller:
    return Caller("terminal", bearer=terminal["key"], extra=terminal)


async def shop_caller(client: Client, key: str) -> Caller:
    """A till signed in to the till pages: its session cookie and the pages' CSRF token."""
    client.cookies.clear()
    r = await client.post("/shop/login", data={"key": key}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    cookie = f"uc_shop={r.cookies['uc_shop']}"
    client.cookies.clear()
    page = await client.get("/shop/", headers={"cookie": cookie})
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert page.status_code == 200 and match, page.text[:300]
    return Caller("shop", cookie=cookie, csrf=match.group(1))
