"""An app per test on the ``engine`` fixture's database, with a small federation seeded.

``client`` is Litestar's AsyncTestClient (real ASGI app, real database). ``login(client, user)``
signs a staff member in and sets the CSRF header for later mutations.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.app import create_app
from cardsvc.db import make_sessionmaker
from cardsvc.demo.seed import DEMO_PASSWORD, seed_federation
from cardsvc.settings import Settings

PASSWORD = DEMO_PASSWORD


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        var_dir=tmp_path,
        database_url=db_url,
        secret_key="test-secret-key-0123456789abcdef0123456789",
        data_keys={"t1": base64.b64decode(base64.b64encode(b"k" * 32))},
        lookup_key=b"test-lookup-key-0123456789abcdef",
        log_level="WARNING",
    )


@pytest.fixture
async def app(settings: Settings, engine: AsyncEngine) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as c:
        yield c


@pytest.fixture
async def demo(settings: Settings, engine: AsyncEngine) -> dict[str, Any]:
    """The demo federation (orgs, staff, 240 members) in the test database."""
    data: dict[str, Any] = {}
    async with make_sessionmaker(engine)() as session, session.begin():
        await seed_federation(session, settings, data)
    return data


async def login(client: AsyncTestClient[Litestar], username: str, password: str = PASSWORD) -> str:
    resp = await client.post(
        "/api/v1/staff/session", json={"username": username, "password": password}
    )
    assert resp.status_code == 200, resp.text
    csrf = resp.json()["csrf_token"]
    client.headers["x-csrf-token"] = csrf
    return csrf
