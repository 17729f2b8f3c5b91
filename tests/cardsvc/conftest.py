"""An app per test on the ``engine`` fixture's database, with a small federation seeded.

``client`` is Litestar's AsyncTestClient (real ASGI app, real database); staff sign in with
``tests.support.staff.login``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.settings import Settings
from tests.conftest import make_test_settings
from tests.support.apps import app_for
from tests.support.contract import checks_contract, contract_client


@pytest.fixture
def settings(db_url: str, var_dir: Path) -> Settings:
    return make_test_settings(db_url, var_dir)


@pytest.fixture
async def app(settings: Settings, engine: AsyncEngine) -> Litestar:
    return app_for(settings)


@pytest.fixture
async def client(
    app: Litestar, request: pytest.FixtureRequest
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """Every response checked against the published contract (tests/support/contract.py)."""
    async with contract_client(app, check=checks_contract(request)) as c:
        yield c
