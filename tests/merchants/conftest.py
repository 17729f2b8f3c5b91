"""An app with the merchant routes, on the ``engine`` fixture's database, plus onboarding helpers.

Until ``cardsvc.app.create_app`` mounts ``MerchantsPlugin``, the ``app`` fixture builds the
same app from its public parts (staff session routes, problem details, the SQLAlchemy
plugin) with the plugin added; once the lead mounts it, ``create_app`` is used as is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.db import make_engine, make_sessionmaker, sqlalchemy_config
from cardsvc.kernel.permissions import Role
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.principal import SYSTEM
from cardsvc.kernel.problems import exception_handlers
from cardsvc.kernel.settings import Settings
from cardsvc.kernel.stores import make_redis, make_store_registry
from cardsvc.kernel.web import request_id_middleware, response_headers
from cardsvc.orgs.models import Org
from cardsvc.staff.auth import provide_staff
from cardsvc.staff.routes import SessionController
from cardsvc.staff.service import create_staff
from merchants.plugin import MerchantsPlugin
from merchants.terminal.auth import GATE_STATE_KEY, TerminalGate
from tests.conftest import make_test_settings
from tests.support.apps import app_for
from tests.support.contract import contract_client
from tests.support.staff import PASSWORD, login  # noqa: F401 (helpers for the tests)

# Valid unified social credit codes (check characters included) not used by the demo.
USCC = "91420502MA4TEXT011"
USCC_2 = "91420503MA4TEXT02J"


def standalone_app(settings: Settings) -> Litestar:
    # Its own engine: the test client runs the app on another event loop than the test's.
    engine = make_engine(settings.database_url)
    redis = make_redis(settings)
    stores = make_store_registry(redis)
    state = State(
        {
            "settings": settings,
            "engine": engine,
            "redis": redis,
            "stores": stores,
            "cipher": PiiCipher.from_settings(settings),
        }
    )
    return Litestar(
        route_handlers=[SessionController],
        plugins=[SQLAlchemyPlugin(config=sqlalchemy_config(settings, engine)), MerchantsPlugin()],
        dependencies={"staff": Provide(provide_staff)},
        exception_handlers=exception_handlers,
        middleware=[request_id_middleware],
        before_send=[response_headers],
        stores=stores,
        state=state,
    )


@pytest.fixture
def settings(db_url: str, var_dir: Path) -> Settings:
    return make_test_settings(db_url, var_dir)


@pytest.fixture
async def app(settings: Settings, engine: AsyncEngine) -> Litestar:
    app = app_for(settings)
    if GATE_STATE_KEY in app.state:  # the composition root mounts the merchants plugin
        return app
    return standalone_app(settings)


@pytest.fixture
async def client(
    app: Litestar, request: pytest.FixtureRequest
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """Every response checked against the published contract (tests/support/contract.py)."""
    check = request.node.get_closest_marker("off_contract") is None
    async with contract_client(app, check=check) as c:
        yield c


@pytest.fixture
def gate(app: Litestar) -> TerminalGate:
    return app.state[GATE_STATE_KEY]


@pytest.fixture
async def wjg_merchants(engine: AsyncEngine, demo: dict[str, Any]) -> str:
    """A merchant manager on the 伍家岗区 subtree only."""
    async with make_sessionmaker(engine)() as session, session.begin():
        org = await session.scalar(select(Org).where(Org.code == "HB-YC-WJG"))
        assert org is not None
        await create_staff(
            session,
            SYSTEM,
            username="wjg.merchants",
            display_name="伍家岗区商户专员",
            password=PASSWORD,
            grants=[(Role.merchant_manager, org.id)],
        )
    return "wjg.merchants"


async def org_id(engine: AsyncEngine, code: str) -> str:
    async with make_sessionmaker(engine)() as session:
        org = await session.scalar(select(Org).where(Org.code == code))
        assert org is not None
        return str(org.id)


def merchant_body(org: str, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "org_id": org,
        "legal_name": "宜昌市西陵区测试面馆",
        "display_name": "测试面馆",
        "uscc": USCC,
        "category": "dining",
        "region": "420502",
        "region_name": "宜昌市西陵区",
        "contact_name": "王师傅",
        "contact_phone": "13907179999",
        "bank_name": "中国工商银行宜昌分行",
        "bank_account_name": "宜昌市西陵区测试面馆",
        "bank_account_number": "6217 0012 3456 7890 123",
    }
    body.update(over)
    return body


async def onboard(client: AsyncTestClient[Litestar], org: str, **over: Any) -> dict[str, Any]:
    """Merchant → store → terminal over HTTP (signed-in staff); returns ids and the key."""
    r = await client.post("/api/v1/merchants", json=merchant_body(org, **over))
    assert r.status_code == 201, r.text
    merchant = r.json()
    r = await client.post(
        f"/api/v1/merchants/{merchant['id']}/stores",
        json={"name": "解放路店", "address": "宜昌市西陵区解放路 18 号", "region": "420502"},
    )
    assert r.status_code == 201, r.text
    store = r.json()
    r = await client.post(f"/api/v1/stores/{store['id']}/terminals", json={"name": "1 号收银台"})
    assert r.status_code == 201, r.text
    issued = r.json()
    return {
        "merchant": merchant,
        "store": store,
        "terminal": issued["terminal"],
        "key": issued["key"],
        "response": r,
    }


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
