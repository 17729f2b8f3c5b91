"""Staff sign-in for API tests: the demo password and ``login``, which signs in through
``POST /api/v1/staff/session`` and sets the CSRF header for the client's later mutations."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from cardsvc.demo.seed import DEMO_PASSWORD

PASSWORD = DEMO_PASSWORD


async def login(client: AsyncTestClient[Litestar], username: str, password: str = PASSWORD) -> str:
    resp = await client.post(
        "/api/v1/staff/session", json={"username": username, "password": password}
    )
    assert resp.status_code == 200, resp.text
    csrf = resp.json()["csrf_token"]
    client.headers["x-csrf-token"] = csrf
    return csrf
