"""Staff sign-in is throttled, not locked: per account from one address, per address, with
growing delays; known and unknown accounts get the same answers; nobody can lock another
person out from their own address. Through the API and the console's sign-in page."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import pytest
from litestar.testing import AsyncTestClient
from litestar.types import ASGIApp, Receive, Scope, Send

from cardsvc.app import create_app
from cardsvc.kernel.ratelimit import RateLimiter
from cardsvc.kernel.settings import Settings
from tests.support.staff import PASSWORD

SESSION = "/api/v1/staff/session"
WRONG = "wrong-password-123"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


class At:
    """Requests from one client address: the app is wrapped so that the test names the
    address (the transport of Litestar's test client always says ``testclient``)."""

    def __init__(self, client: AsyncTestClient[Any], address: str) -> None:
        self.client, self.address = client, address

    async def post(self, url: str, **kw: Any) -> httpx.Response:
        self.client.cookies.clear()
        return await self.client.post(url, headers={ADDRESS_HEADER: self.address}, **kw)


ADDRESS_HEADER = "x-test-client-address"


def at_address(app: ASGIApp) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(ADDRESS_HEADER.encode())
            if given:
                scope["client"] = (given.decode(), 40000)
        await app(scope, receive, send)

    return wrapped


@pytest.fixture
async def client(
    settings: Settings, engine: Any, demo: Any, clock: Clock
) -> AsyncIterator[AsyncTestClient[Any]]:
    throttled = dataclasses.replace(
        settings,
        login_pair_limits=((5, 60), (10, 900)),
        login_address_limits=((30, 60),),
        login_account_limits=((100, 3600),),
    )
    app = create_app(throttled)
    app.state.limiter = RateLimiter(clock=clock)
    async with AsyncTestClient(app=cast(Any, at_address(app))) as c:
        yield c


async def sign_in(client: At, username: str, password: str) -> httpx.Response:
    return await client.post(SESSION, json={"username": username, "password": password})


def problem(r: httpx.Response) -> tuple[int, str, str, str, str | None]:
    body = r.json()
    return (
        r.status_code,
        body["code"],
        body["message_zh"],
        body["message_en"],
        r.headers.get("retry-after"),
    )


async def test_known_and_unknown_accounts_are_throttled_alike(client: AsyncTestClient[Any]) -> None:
    c = At(client, "203.0.113.7")
    for _ in range(5):
        known = await sign_in(c, "xl.admin", WRONG)
        unknown = await sign_in(c, "nobody.here", WRONG)
        assert problem(known) == problem(unknown)
        assert known.status_code == 401
    # The sixth try: the same 429 with the same Retry-After, the right password included.
    known = await sign_in(c, "xl.admin", PASSWORD)
    unknown = await sign_in(c, "nobody.here", PASSWORD)
    assert known.status_code == 429 and known.json()["code"] == "rate_limited", known.text
    assert problem(known) == problem(unknown)
    assert 0 < int(known.headers["retry-after"]) <= 60
    assert "uc_staff" not in known.cookies
    # Another account from the same address is not affected.
    assert (await sign_in(c, "wjg.admin", PASSWORD)).status_code == 200


async def test_nobody_locks_an_account_from_their_own_address(
    client: AsyncTestClient[Any],
) -> None:
    attacker, owner = At(client, "198.51.100.9"), At(client, "10.1.2.3")
    for _ in range(8):
        await sign_in(attacker, "xl.admin", WRONG)
    assert (await sign_in(attacker, "xl.admin", PASSWORD)).status_code == 429
    assert (await sign_in(owner, "xl.admin", PASSWORD)).status_code == 200


async def test_delays_grow_while_guessing_goes_on(
    client: AsyncTestClient[Any], clock: Clock
) -> None:
    """Guess, wait as told, guess again: the first wait is the minute's, and before ten
    guesses have gone through the wait is the quarter hour's."""
    c = At(client, "203.0.113.8")
    waits: list[int] = []
    tried = 0
    while tried <= 10 and (not waits or waits[-1] <= 60):
        r = await sign_in(c, "xl.admin", WRONG)
        if r.status_code == 401:
            tried += 1
            continue
        assert r.status_code == 429, r.text
        waits.append(int(r.headers["retry-after"]))
        clock.now += waits[-1] + 1
    assert tried <= 10 and waits[0] <= 60 < waits[-1], (tried, waits)


async def test_one_address_is_throttled_across_accounts(client: AsyncTestClient[Any]) -> None:
    sprayer, other = At(client, "192.0.2.44"), At(client, "192.0.2.45")
    for i in range(30):
        r = await sign_in(sprayer, f"guess.{i}", WRONG)
        assert r.status_code == 401, (i, r.text)
    r = await sign_in(sprayer, "admin", PASSWORD)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert (await sign_in(other, "admin", PASSWORD)).status_code == 200


async def test_console_sign_in_page_is_throttled_the_same_way(
    client: AsyncTestClient[Any],
) -> None:
    c = At(client, "203.0.113.99")
    form = {"username": "nobody.here", "password": WRONG, "next": "/console"}
    for _ in range(5):
        r = await c.post("/console/login", data=form)
        assert r.status_code == 401, r.text
    r = await c.post("/console/login", data={**form, "username": "NOBODY.HERE"})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert "登录尝试过于频繁" in r.text
    # Known account, fresh pair: five tries, then the same answer.
    for _ in range(5):
        await c.post("/console/login", data={**form, "username": "xl.admin"})
    known = await c.post("/console/login", data={**form, "username": "xl.admin"})
    assert known.status_code == 429 and "登录尝试过于频繁" in known.text
    assert "uc_staff" not in known.cookies
