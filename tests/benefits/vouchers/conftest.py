"""An app per test on a copy of the demo federation, with the claim admission in process or in
Redis (both have the same semantics), and ``front``: staff signed in through the API."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import make_test_settings
from tests.support.apps import app_for
from tests.support.contract import checks_contract, contract_client
from tests.support.front import Front

Client = AsyncTestClient[Litestar]
API = "/api/v1/voucher-campaigns"
ME = "/api/v1/me/vouchers"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def admission(request: pytest.FixtureRequest) -> str:
    """The Redis URL of the claim admission store, or "" for the in-process one. (A sync
    fixture: an async one may not ask for the async ``redis_url`` by name.)"""
    return str(request.getfixturevalue("redis_url")) if request.param == "redis" else ""


@pytest.fixture
async def app(
    db_url: str,
    var_dir: Path,
    engine: AsyncEngine,
    demo: dict[str, Any],
    admission: str,
) -> Litestar:
    settings = make_test_settings(db_url, var_dir)
    if admission:
        settings = dataclasses.replace(settings, redis_url=admission)
    return app_for(settings)


@pytest.fixture
async def client(app: Litestar, request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    async with contract_client(app, check=checks_contract(request)) as c:
        yield c


@pytest.fixture
async def front(app: Litestar, client: Client) -> Front:
    return await Front(app, client).sign_in()


def campaign_body(front: Front, **kw: Any) -> dict[str, Any]:
    """A first-come campaign of the federation's root, open since a minute ago for an hour:
    ¥10 off a bill of ¥50 at dining merchants, valid 7 days, paid by the federation."""
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "code": f"V{uuid.uuid4().hex[:10]}",
        "name": "春季餐饮消费券",
        "owner_org_id": front.orgs["HB"],
        "stock": 5,
        "per_member": 1,
        "opens_at": (now - timedelta(minutes=1)).isoformat(),
        "closes_at": (now + timedelta(hours=1)).isoformat(),
        "terms": {
            "value": {"kind": "amount_off", "off_fen": 1000, "min_spend_fen": 5000},
            "funded_by": "federation",
            "valid_days": 7,
            "scope": {"merchant_categories": ["dining"]},
        },
    }
    body.update(kw)
    return body


async def published_campaign(front: Front, **kw: Any) -> dict[str, Any]:
    r = await front.client.post(API, json=campaign_body(front, **kw))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = await front.client.post(f"{API}/{cid}/publish")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def claim(front: Front, phone: str, cid: str, request_id: str | None = None) -> Any:
    async with front.as_member(phone) as c:
        return await c.post(
            f"{ME}/campaigns/{cid}/claim", json={"request_id": request_id or uuid.uuid4().hex}
        )
