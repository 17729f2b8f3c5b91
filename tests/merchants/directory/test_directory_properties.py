"""The directory's promises as properties, through the HTTP API on both engines:

- nearest first, paged, within the radius, each distance the rounded haversine (a reference
  written here, not the app's), for stores and query points Hypothesis chooses (duplicates and
  a radius exactly at a store's distance included);
- open now across midnight and closures on the federation's calendar, against the real clock.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.merchants.conftest import onboard, org_id
from tests.merchants.directory.helpers import Client, located_store
from tests.support.staff import login

# Far from the demo's stores (Yichang, ~2,500 km): within 500 km only the test's own.
LAT = st.floats(min_value=43.0, max_value=45.0, allow_nan=False)
LNG = st.floats(min_value=86.0, max_value=89.0, allow_nan=False)
R = 6_371_008.8  # the mean Earth radius (IUGG)


def reference_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance by the haversine formula, written for the test."""
    a = (
        math.sin(math.radians(lat2 - lat1) / 2) ** 2
        + math.cos(math.radians(lat1))
        * math.cos(math.radians(lat2))
        * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    )
    return 2 * R * math.asin(min(1.0, math.sqrt(a)))


@pytest.fixture
def made() -> dict[str, Any]:
    """Kept across Hypothesis's examples of one test run: the merchant and its stores."""
    return {"places": {}}


@settings(
    max_examples=12,
    deadline=None,
    # The stores stay between examples: no replay or shrinking of a past example.
    phases=(Phase.generate,),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_nearest_first_within_the_radius_by_the_haversine(
    client: Client, engine: AsyncEngine, demo: dict[str, Any], made: dict[str, Any], data: Any
) -> None:
    places: dict[str, tuple[float, float]] = made["places"]
    if "merchant" not in made:
        await login(client, "yc.merchants")
        made["merchant"] = (await onboard(client, await org_id(engine, "HB-YC-XL")))["merchant"][
            "id"
        ]
    # Every draw the same whatever the stores so far (Hypothesis asks for that).
    new = data.draw(st.lists(st.tuples(LAT, LNG), min_size=1, max_size=4))
    twice, pick = data.draw(st.booleans()), data.draw(st.integers(0, 1_000))
    if twice:
        new.append(new[pick % len(new)])  # two stores at the very same place
    for lat, lng in new:
        places[await located_store(client, made["merchant"], lat, lng)] = (lat, lng)

    here = data.draw(st.tuples(LAT, LNG))
    dist = {sid: reference_m(here[0], here[1], p[0], p[1]) for sid, p in places.items()}
    at_a_store, up, wide = (
        data.draw(st.booleans()),
        data.draw(st.booleans()),
        data.draw(st.integers(1_000, 500_000)),
    )
    if at_a_store:  # a radius right at a store's distance: in when rounded up, out when down
        d = sorted(dist.values())[pick % len(dist)]
        radius = max(1, math.ceil(d) if up else math.floor(d))
    else:
        radius = wide
    limit = data.draw(st.integers(1, 6))
    ref = sorted((d, sid) for sid, d in dist.items() if d <= radius)

    got: list[dict[str, Any]] = []
    for offset in (0, limit):
        r = await client.get(
            "/api/v1/stores",
            params={
                "near": f"{here[0]!r},{here[1]!r}",
                "radius_m": radius,
                "limit": limit,
                "offset": offset,
            },
        )
        assert r.status_code == 200, r.text
        page = r.json()
        got += page["items"]
        assert page["has_more"] == (len(ref) > offset + limit)
    want = ref[: 2 * limit]
    assert [s["id"] for s in got] == [sid for _, sid in want], (here, radius, limit)
    assert [s["distance_m"] for s in got] == [round(d) for d, _ in want]
    for s in got:
        assert (s["location"]["lat"], s["location"]["lng"]) == places[s["id"]]


async def test_open_across_midnight_and_closures_on_the_federations_calendar(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    """Now, in Beijing: a span that began yesterday and runs past midnight until a little
    after now is open; a closure yesterday cancels it, one today does not; the same span
    read on UTC's calendar would name another day."""
    zone = ZoneInfo("Asia/Shanghai")
    local = datetime.now(UTC).astimezone(zone)
    minutes = local.hour * 60 + local.minute
    if minutes >= 23 * 60 + 55:
        pytest.skip("too close to midnight to build a span past it that ends after now")
    end = min(minutes + 10, 23 * 60 + 58)  # a few minutes after now, before midnight
    start = end + 1  # later in the day than the end: it crosses midnight
    span = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    yesterday = local.date() - timedelta(days=1)
    weekly = {days[yesterday.weekday()]: [span]}
    await login(client, "yc.merchants")
    mid = (await onboard(client, await org_id(engine, "HB-YC-XL")))["merchant"]["id"]
    cases = {
        "running": {"weekly": weekly},
        "closed_yesterday": {"weekly": weekly, "closures": [{"first": yesterday.isoformat()}]},
        "closed_today": {
            "weekly": weekly,
            "closures": [{"first": local.date().isoformat(), "note": "盘点"}],
        },
        "today_only": {"weekly": {days[local.weekday()]: [span]}},
    }
    expect = {"running": True, "closed_yesterday": False, "closed_today": True, "today_only": False}
    for i, (name, hours) in enumerate(cases.items()):
        sid = await located_store(client, mid, 44.6 + i * 0.001, 87.6, hours=hours)
        page = (await client.get(f"/api/v1/stores/{sid}/public")).json()
        assert page["store"]["open_now"] is expect[name], (name, span, local)
        if name == "closed_today":
            assert page["closed_today"] == "盘点"
    r = await client.get(
        "/api/v1/stores", params={"near": "44.6,87.6", "radius_m": 2000, "open_now": "true"}
    )
    assert len(r.json()["items"]) == 2
