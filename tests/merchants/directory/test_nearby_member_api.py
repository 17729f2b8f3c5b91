"""附近 as JSON for the signed-in member (``GET /api/v1/me/stores/nearby``): the same use case as
the /m/nearby page, so each store lists what a till's scan there offers this member; filters,
pages, and problem details for bad input. Everything made through the APIs; on both engines."""

from __future__ import annotations

from typing import Any

from litestar import Litestar

from tests.merchants.directory.helpers import ALWAYS, Client
from tests.support.front import Front, Shop

HERE = (41.60, 123.10)  # no demo store within reach
URL = "/api/v1/me/stores/nearby"


async def _place(front: Front, shop: Shop, lat: float, lng: float, **listing: Any) -> None:
    body = {"location": {"lat": lat, "lng": lng}, "hours": ALWAYS, **listing}
    r = await front.client.patch(f"/api/v1/stores/{shop.store_id}/listing", json=body)
    assert r.status_code == 200, r.text


async def _scan(front: Front, shop: Shop, who: Any) -> tuple[set[str], set[str]]:
    body = await front.scan(shop, await front.phone_code(who))
    offered = {b["program_id"] for b in body["benefits"]}
    later = {u["program_id"] for u in body["unavailable"] if u["code"] == "below_min_spend"}
    return offered, later


async def test_each_store_lists_what_the_till_would_offer_this_member(
    app: Litestar, client: Client, demo: dict[str, Any]
) -> None:
    front = await Front(app, client).sign_in()
    root = front.orgs["HB-YC"]
    union = await front.grassroots("HB-YC-XL")
    worker, model = await front.member(union), await front.member(union)
    await front.set_categories(model, ["model_worker"])
    dining = await front.program(root)
    await front.program(root, scope={"merchant_categories": ["retail"]})
    models_only = await front.program(root, eligibility={"categories_any": ["model_worker"]})
    min_spend = await front.program(
        root, benefit={"kind": "amount_off", "off_fen": 500, "min_spend_fen": 5000}
    )
    eatery, shop = await front.shop("dining"), await front.shop("retail")
    await _place(front, eatery, HERE[0], HERE[1] + 0.001)
    await _place(front, shop, HERE[0], HERE[1] + 0.002)

    for who in (worker, model):
        async with front.as_member(who.phone) as phone:
            r = await phone.get(URL, params={"near": f"{HERE[0]},{HERE[1]}", "limit": 2})
            assert r.status_code == 200, r.text
            body = r.json()
            page = await phone.get("/m/nearby", params={"near": f"{HERE[0]},{HERE[1]}"})
            assert page.status_code == 200
        items = body["items"]
        assert [i["store"]["id"] for i in items] == [eatery.store_id, shop.store_id]
        assert items[0]["distance_m"] < items[1]["distance_m"]
        assert all(i["open_now"] for i in items)
        for item, s in zip(items, (eatery, shop), strict=True):
            offered, later = await _scan(front, s, who)
            assert {p["program_id"] for p in item["usable"]} == offered
            assert {p["program_id"] for p in item["with_min_spend"]} == later
            for p in item["usable"]:  # the page shows the same programmes
                assert f'data-usable="{p["program_id"]}"' in page.text
        usable = {p["program_id"] for p in items[0]["usable"]}
        assert dining["id"] in usable
        assert (models_only["id"] in usable) == (who is model)
        assert min_spend["id"] in {p["program_id"] for p in items[0]["with_min_spend"]}


async def test_filters_pages_and_where_to_use_a_programme(
    app: Litestar, client: Client, demo: dict[str, Any]
) -> None:
    front = await Front(app, client).sign_in()
    root = front.orgs["HB-YC"]
    who = await front.member(await front.grassroots("HB-YC-XL"))
    retail = await front.program(root, scope={"merchant_categories": ["retail"]})
    eatery, shop = await front.shop("dining"), await front.shop("retail")
    at = (HERE[0] + 0.4, HERE[1])
    await _place(front, eatery, at[0], at[1] + 0.001, amenities=["wifi"])
    await _place(front, shop, at[0], at[1] + 0.01)
    unknown = await front.shop("dining")  # no opening hours: never open now
    await _place(front, unknown, at[0], at[1] + 0.02, hours={"weekly": {}, "closures": []})
    near = f"{at[0]},{at[1]}"
    async with front.as_member(who.phone) as phone:

        async def ids(**params: Any) -> list[str]:
            r = await phone.get(URL, params={"near": near, "radius_m": 5000, **params})
            assert r.status_code == 200, r.text
            return [i["store"]["id"] for i in r.json()["items"]]

        assert await ids() == [eatery.store_id, shop.store_id, unknown.store_id]
        assert await ids(open_now="true") == [eatery.store_id, shop.store_id]
        assert await ids(radius_m=300) == [eatery.store_id]
        assert await ids(category="retail") == [shop.store_id]
        assert await ids(category="dining") == [eatery.store_id, unknown.store_id]
        assert await ids(amenity="wifi") == [eatery.store_id]
        assert await ids(program=retail["id"]) == [shop.store_id]
        r = await phone.get(URL, params={"near": near, "radius_m": 5000, "limit": 1})
        assert r.json()["has_more"] is True
        assert await ids(limit=1, offset=1) == [shop.store_id]


async def test_bad_input_is_a_problem_with_a_stable_code(
    app: Litestar, client: Client, demo: dict[str, Any]
) -> None:
    front = await Front(app, client).sign_in()
    who = await front.member(await front.grassroots("HB-YC-XL"))
    bad: list[dict[str, Any]] = [
        {},
        {"near": "999,1"},
        {"near": "abc"},
        {"near": "nan,nan"},
        {"near": "30,111", "radius_m": 0},
        {"near": "30,111", "radius_m": 10**12},
        {"near": "30,111", "limit": 0},
        {"near": "30,111", "limit": 101},
        {"near": "30,111", "offset": -1},
        {"near": "30,111", "category": "casino"},
        {"near": "30,111", "amenity": "helipad"},
        {"near": "30,111", "program": "not-a-uuid"},
        {"near": "30,111", "open_now": "maybe"},
    ]
    async with front.as_member(who.phone) as phone:
        for params in bad:
            r = await phone.get(URL, params=params)
            assert r.status_code in (400, 422), (params, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "validation_error", r.text
    # Signed in with a phone that holds no membership: not a member, whatever it asks.
    async with front.as_member("17709990001") as applicant:
        asked: tuple[dict[str, str | int], ...] = (
            {"near": "30,111"},
            {"near": "30,111", "limit": 0},
        )
        for params in asked:
            r = await applicant.get(URL, params=params)
            assert (r.status_code, r.json()["code"]) == (404, "not_a_member"), r.text
    front.client.cookies.clear()
    r = await front.client.get(URL, params={"near": "30,111"})
    assert r.status_code == 401, r.text


def _limit(metric: str, scope: str, period: str, limit: int) -> dict[str, Any]:
    return {"metric": metric, "scope": scope, "period": period, "limit": limit}


async def test_what_is_left_follows_a_redemption_made_a_moment_before(
    app: Litestar, client: Client, demo: dict[str, Any]
) -> None:
    """The member's own counters and the budgets are read with the search, the per-merchant
    ones after it: each answer right after a redemption at the till, and equal to its scan."""
    front = await Front(app, client).sign_in()
    root = front.orgs["HB-YC"]
    who = await front.member(await front.grassroots("HB-YC-XL"))
    mine = await front.program(root, limits=[_limit("count", "member", "month", 2)])
    here = await front.program(root, limits=[_limit("count", "member_merchant", "day", 1)])
    shared = await front.program(root, limits=[_limit("count", "program", "month", 1)])
    eatery = await front.shop("dining")
    await _place(front, eatery, HERE[0] - 0.3, HERE[1])
    near = f"{HERE[0] - 0.3},{HERE[1]}"

    async def page() -> tuple[dict[str, list[int | None]], set[str]]:
        async with front.as_member(who.phone) as phone:
            r = await phone.get(URL, params={"near": near, "radius_m": 1000})
        assert r.status_code == 200, r.text
        [item] = r.json()["items"]
        offered, _ = await _scan(front, eatery, who)
        assert {p["program_id"] for p in item["usable"]} == offered
        ours = {mine["id"], here["id"], shared["id"]}  # not the demo's programmes
        left = {
            p["program_id"]: [s["remaining"] for s in p["limits"]]
            for p in item["usable"]
            if p["program_id"] in ours
        }
        return left, {r["program_id"] for r in item["used_up"]} & ours

    assert await page() == ({mine["id"]: [2], here["id"]: [1], shared["id"]: []}, set())
    for program, amount, after in (
        (mine, 1000, ({mine["id"]: [1], here["id"]: [1], shared["id"]: []}, set())),
        (here, 1000, ({mine["id"]: [1], shared["id"]: []}, {here["id"]})),
        (shared, 1000, ({mine["id"]: [1]}, {here["id"], shared["id"]})),
        (mine, 1000, ({}, {mine["id"], here["id"], shared["id"]})),
    ):
        status, body = await front.redeem(eatery, await front.phone_code(who), program, amount)
        assert status == 201, body
        assert await page() == after
