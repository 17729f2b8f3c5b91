"""The console's store listing form: a pin (typed or dropped on the map, in either datum), the
phone, daily hours and amenities, saved through the same service as the API; errors shown on
the form; another district's store not found."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from merchants.directory.geo import haversine_m, wgs84_to_gcj02
from tests.merchants.conftest import onboard, org_id
from tests.merchants.directory.helpers import Client
from tests.support.staff import login


async def test_the_console_sets_pin_hours_and_amenities(
    client: Client, engine: AsyncEngine, demo: dict[str, Any], wjg_merchants: str
) -> None:
    await login(client, "yc.merchants")
    made = await onboard(client, await org_id(engine, "HB-YC-XL"), category="rest_station")
    mid, sid = made["merchant"]["id"], made["store"]["id"]
    page = await client.get(f"/console/merchants/{mid}")
    assert page.status_code == 200
    assert f'id="store-listing-{sid}"' in page.text and 'class="console-pin-map"' in page.text
    assert "vendor/leaflet/leaflet.js" in page.text

    glat, glng = wgs84_to_gcj02(30.70, 111.30)
    url = f"/console/merchants/{mid}/stores/{sid}/listing"
    r = await client.post(
        url,
        data={
            "lat": f"{glat:.7f}",
            "lng": f"{glng:.7f}",
            "datum": "gcj02",
            "phone": "0717-6221234",
            "hours": "08:00-12:00，14:00-20:00",
            "amenities": ["water", "toilet"],
        },
    )
    assert r.status_code == 200 and r.headers["hx-redirect"] == f"/console/merchants/{mid}"
    shown = (await client.get(f"/api/v1/stores/{sid}/public")).json()
    loc = shown["store"]["location"]
    assert haversine_m(loc["lat"], loc["lng"], 30.70, 111.30) < 1.0
    assert shown["store"]["amenities"] == ["water", "toilet"]
    assert shown["hours"]["weekly"]["sun"] == ["08:00-12:00", "14:00-20:00"]
    again = await client.get(f"/console/merchants/{mid}")
    assert 'value="08:00-12:00,14:00-20:00"' in again.text

    bad = await client.post(url, data={"lat": "north", "lng": "111", "hours": "8-20"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text
    assert "请填写数字" in bad.text
    bad = await client.post(url, data={"lat": "30.7", "lng": "111.3", "hours": "8-20"})
    assert bad.status_code == 422 and "09:00-21:00" in bad.text

    await login(client, wjg_merchants)
    other = await client.post(url, data={"lat": "30", "lng": "111"})
    assert other.status_code == 404 and other.headers["content-type"].startswith("text/html")
