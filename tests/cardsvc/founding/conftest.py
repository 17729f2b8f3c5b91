"""The app/client fixtures of tests/cardsvc, and the founding steps the tests share."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from litestar import Litestar
from stdnum.cn import uscc

from tests.cardsvc.conftest import app, client, settings  # noqa: F401
from tests.support.front import Client, Front

ME = "/api/v1/me/founding-applications"
URL = "/api/v1/founding/applications"
_SERIAL = itertools.count(1)


def credit_code(region: str = "420502") -> str:
    """A valid unified social credit code not used by the demo."""
    body = f"91{region}MA4F{next(_SERIAL):05d}"
    return body + uscc.calc_check_digit(body)


def application(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "found",
        "applicant_type": "employer",
        "contact_name": "陈建华",
        "enterprise_name": "宜昌峡光精密制造有限公司",
        "credit_code": credit_code(),
        "address": "宜昌市西陵区东湖大道 18 号",
        "region_code": "420502",
        "headcount": 86,
        "union_name": "宜昌峡光精密制造有限公司工会委员会",
        "founders": [{"name": "陈建华", "phone": "13971000001", "role": "筹备组组长"}],
    }
    body.update(overrides)
    return body


@pytest.fixture
async def front(app: Litestar, client: Client, demo: dict[str, Any]) -> Front:  # noqa: F811
    return await Front(app, client).sign_in()


async def submit(front: Front, phone: str, **overrides: Any) -> dict[str, Any]:
    async with front.as_member(phone) as applicant:
        r = await applicant.post(ME, json=application(**overrides))
        assert r.status_code == 201, r.text
        return dict(r.json())
