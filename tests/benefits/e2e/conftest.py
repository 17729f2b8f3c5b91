"""An app per test on a copy of the demo federation, and ``front``: staff signed in through the
API (``tests.support.front``), ready to make members, shops and programmes the way staff do."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.settings import Settings
from tests.conftest import make_test_settings
from tests.support.apps import app_for
from tests.support.contract import checks_contract, contract_client
from tests.support.front import Front


@pytest.fixture
def settings(db_url: str, var_dir: Path) -> Settings:
    # A printed card here redeems more often than its hourly limit allows (the limit has its
    # own tests): the matrix uses the static code to travel in time, which a rotating one
    # cannot (it expires within a minute of the real clock).
    return dataclasses.replace(
        make_test_settings(db_url, var_dir), static_card_redemptions_per_hour=0
    )


@pytest.fixture
async def app(settings: Settings, engine: AsyncEngine, demo: dict[str, Any]) -> Litestar:
    return app_for(settings)


@pytest.fixture
async def client(
    app: Litestar, request: pytest.FixtureRequest
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """Every response checked against the published contract (tests/support/contract.py)."""
    async with contract_client(app, check=checks_contract(request)) as c:
        yield c


@pytest.fixture
async def front(app: Litestar, client: AsyncTestClient[Litestar]) -> Front:
    return await Front(app, client).sign_in()
