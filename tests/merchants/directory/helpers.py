"""Stores with a place on the map, made through the staff API."""

from __future__ import annotations

import itertools
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]
_n = itertools.count(1)

ALWAYS = {"weekly": {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}


async def located_store(
    client: Client, merchant_id: str, lat: float, lng: float, **listing: Any
) -> str:
    """A new store of the merchant at (lat, lng) in WGS-84, with ``listing`` set too."""
    r = await client.post(
        f"/api/v1/merchants/{merchant_id}/stores",
        json={
            "name": f"测试门店{next(_n)}",
            "address": "宜昌市西陵区解放路 1 号",
            "region": "420502",
        },
    )
    assert r.status_code == 201, r.text
    store_id = str(r.json()["id"])
    body = {"location": {"lat": lat, "lng": lng}, **listing}
    r = await client.patch(f"/api/v1/stores/{store_id}/listing", json=body)
    assert r.status_code == 200, r.text
    return store_id
