"""The public store directory: nearest first with distances, radius, filters, a store's page;
staff set the listing (pin, hours, amenities) in their scope, audited. On both engines."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.db import make_sessionmaker
from merchants.directory.geo import haversine_m, wgs84_to_gcj02
from tests.merchants.conftest import USCC_2, onboard, org_id
from tests.merchants.directory.helpers import ALWAYS, Client, located_store
from tests.support.staff import login

# Far from the demo's stores (Yichang): the nearest stores here are the test's own.
BOX = (43.0, 45.0, 86.0, 89.0)


async def test_nearest_first_and_radius_match_the_haversine(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    await login(client, "yc.merchants")
    made = await onboard(client, await org_id(engine, "HB-YC-XL"))
    rnd = random.Random(20261207)
    places: dict[str, tuple[float, float]] = {}
    for _ in range(24):
        lat, lng = rnd.uniform(*BOX[:2]), rnd.uniform(*BOX[2:])
        places[await located_store(client, made["merchant"]["id"], lat, lng)] = (lat, lng)
    for _ in range(12):
        lat, lng = rnd.uniform(*BOX[:2]), rnd.uniform(*BOX[2:])
        radius = rnd.choice([None, 20_000, 60_000, 150_000])
        limit = rnd.randint(1, 10)
        ref = sorted((haversine_m(lat, lng, *p), sid) for sid, p in places.items())
        if radius is not None:
            ref = [(d, sid) for d, sid in ref if d <= radius]
        params: dict[str, Any] = {"near": f"{lat},{lng}", "limit": limit}
        if radius is not None:
            params["radius_m"] = radius
        got: list[dict[str, Any]] = []
        for offset in (0, limit):  # two pages
            r = await client.get("/api/v1/stores", params={**params, "offset": offset})
            assert r.status_code == 200, r.text
            body = r.json()
            got += body["items"]
            assert body["has_more"] == (len(ref) > offset + limit)
        want = ref[: 2 * limit]
        assert [s["id"] for s in got] == [sid for _, sid in want]
        assert [s["distance_m"] for s in got] == [round(d) for d, _ in want]


async def test_category_amenities_and_open_now(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    await login(client, "yc.merchants")
    org = await org_id(engine, "HB-YC-XL")
    dining = (await onboard(client, org))["merchant"]["id"]
    rest = (await onboard(client, org, uscc=USCC_2, category="rest_station"))["merchant"]["id"]
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    closed_today = {**ALWAYS, "closures": [{"first": today.isoformat(), "note": "盘点"}]}
    full = await located_store(
        client, rest, 44.0, 87.0, amenities=["water", "toilet", "wifi"], hours=ALWAYS
    )
    water = await located_store(client, rest, 44.01, 87.0, amenities=["water"], hours=closed_today)
    eatery = await located_store(client, dining, 44.02, 87.0, hours=ALWAYS)
    unknown = await located_store(client, dining, 44.03, 87.0)

    async def ids(**params: Any) -> list[str]:
        r = await client.get(
            "/api/v1/stores", params={"near": "44.0,87.0", "limit": 4, "radius_m": 50_000, **params}
        )
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()["items"]]

    assert await ids() == [full, water, eatery, unknown]
    assert await ids(category="rest_station") == [full, water]
    assert await ids(amenity="water") == [full, water]
    assert await ids(amenity=["water", "toilet"]) == [full]
    assert await ids(amenity="water,wifi") == [full]
    assert await ids(open_now="true") == [full, eatery]
    assert await ids(open_now="true", category="rest_station") == [full]

    page = (await client.get(f"/api/v1/stores/{water}/public")).json()
    assert page["closed_today"] == "盘点" and page["store"]["open_now"] is False
    assert page["store"]["amenities"] == ["water"]
    assert page["store"]["category_label"] == "工惠驿家"


async def test_a_store_page_with_navigation_links(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    await login(client, "yc.merchants")
    made = await onboard(client, await org_id(engine, "HB-YC-XL"))
    sid = await located_store(
        client, made["merchant"]["id"], 30.6927, 111.2864, phone="0717-6221234", hours=ALWAYS
    )
    r = await client.get(f"/api/v1/stores/{sid}/public")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["store"]["location"] == {"lat": 30.6927, "lng": 111.2864}
    glat, glng = wgs84_to_gcj02(30.6927, 111.2864)
    assert abs(body["store"]["gcj02"]["lat"] - glat) < 1e-6
    assert abs(body["store"]["gcj02"]["lng"] - glng) < 1e-6
    assert body["store"]["phone"] == "+867176221234"
    nav = body["navigation"]
    assert nav["geo"].startswith("geo:30.692700,111.286400?q=")
    assert "position=111.286400,30.692700" in nav["amap"] and "coordinate=wgs84" in nav["amap"]
    assert nav["baidu"].startswith("baidumap://") and nav["tencent"].startswith("qqmap://")

    closed = await client.post(f"/api/v1/stores/{sid}/close", json={"reason": "门店停业"})
    assert closed.status_code == 200, closed.text
    gone = await client.get(f"/api/v1/stores/{sid}/public")
    assert gone.status_code == 404 and gone.json()["code"] == "store_not_found"
    r = await client.get("/api/v1/stores", params={"near": "30.6927,111.2864", "radius_m": 10})
    assert sid not in [s["id"] for s in r.json()["items"]]


async def test_a_pin_on_a_chinese_map_is_stored_in_wgs84(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    await login(client, "yc.merchants")
    made = await onboard(client, await org_id(engine, "HB-YC-XL"))
    sid = made["store"]["id"]
    glat, glng = wgs84_to_gcj02(30.70, 111.30)
    r = await client.patch(
        f"/api/v1/stores/{sid}/listing",
        json={"location": {"lat": glat, "lng": glng, "datum": "gcj02"}},
    )
    assert r.status_code == 200, r.text
    loc = r.json()["location"]
    assert haversine_m(loc["lat"], loc["lng"], 30.70, 111.30) < 1.0
    async with make_sessionmaker(engine)() as s:
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "store.details"))
        assert entry is not None and str(entry.target_id) == sid


async def test_another_subtree_cannot_edit_the_listing(
    client: Client, engine: AsyncEngine, demo: dict[str, Any], wjg_merchants: str
) -> None:
    await login(client, "yc.merchants")
    made = await onboard(client, await org_id(engine, "HB-YC-XL"))
    await login(client, wjg_merchants)
    r = await client.patch(
        f"/api/v1/stores/{made['store']['id']}/listing", json={"location": {"lat": 30, "lng": 111}}
    )
    assert r.status_code == 404 and r.json()["code"] == "store_not_found"


async def test_bad_input_is_a_problem_not_a_crash(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    bad_queries: list[dict[str, Any]] = [
        {"near": "abc"},
        {"near": "91,0"},
        {"near": "30,181"},
        {"near": "nan,nan"},
        {"near": "inf,1"},
        {"near": "1,2,3"},
        {"near": "30,111", "radius_m": 0},
        {"near": "30,111", "radius_m": 10**12},
        {"near": "30,111", "amenity": "pool"},
        {"near": "30,111", "category": "casino"},
        {"near": "30,111", "limit": 1000},
        {"near": "30,111", "offset": -1},
        {"near": "30,111", "open_now": "maybe"},
        {},
    ]
    for params in bad_queries:
        r = await client.get("/api/v1/stores", params=params)
        assert r.status_code in (400, 422), (params, r.text)
        assert r.json()["code"], r.text
    assert (await client.get("/api/v1/stores/not-a-uuid/public")).status_code in (400, 404)

    await login(client, "yc.merchants")
    sid = (await onboard(client, await org_id(engine, "HB-YC-XL")))["store"]["id"]
    bad_bodies: list[dict[str, Any]] = [
        {"location": {"lat": 91, "lng": 0}},
        {"location": {"lat": "x", "lng": 0}},
        {"location": {"lat": 30, "lng": 111, "datum": "bd09"}},
        {"hours": {"weekly": {"mon": ["9-21"]}}},
        {"hours": {"weekly": {"monday": ["09:00-21:00"]}}},
        {"hours": {"weekly": {"mon": ["09:00-09:00"]}}},
        {"hours": {"closures": [{"first": "2027-02-30"}]}},
        {"hours": {"closures": [{"first": "2027-03-02", "last": "2027-03-01"}]}},
        {"hours": []},
        {"amenities": ["pool"]},
        {"phone": "12"},
        {"photos": ["javascript:alert(1)"]},
    ]
    for body in bad_bodies:
        r = await client.patch(f"/api/v1/stores/{sid}/listing", json=body)
        assert r.status_code in (400, 422), (body, r.text)
        assert r.json()["code"], r.text


async def test_opening_hours_follow_the_federations_zone(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    """A span covering the current hour in Beijing time (not UTC) is open now."""
    await login(client, "yc.merchants")
    made = await onboard(client, await org_id(engine, "HB-YC-XL"))
    local = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    start = local - timedelta(minutes=local.minute % 30 + 30)
    end = start + timedelta(hours=2)
    span = f"{start:%H:%M}-{end:%H:%M}"
    # The span belongs to the day it starts on (the day before, just after midnight).
    hours = {"weekly": {("mon", "tue", "wed", "thu", "fri", "sat", "sun")[start.weekday()]: [span]}}
    sid = await located_store(client, made["merchant"]["id"], 44.5, 87.5, hours=hours)
    r = await client.get(f"/api/v1/stores/{sid}/public")
    assert r.json()["store"]["open_now"] is True, (span, r.text)
