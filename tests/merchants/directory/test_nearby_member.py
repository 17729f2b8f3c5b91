"""附近 for a member: the stores near them, each with the programmes *this member* can use there,
equal to what a terminal's scan at that store offers them; a store's page; where to use a
benefit. Everything made through the staff, member and terminal APIs; on both engines."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar

from tests.merchants.directory.helpers import ALWAYS, Client
from tests.support.front import Front, Shop

HERE = (41.80, 123.40)  # no demo store within the page's radius


def _ids(html: str, store_id: str, attr: str) -> set[str]:
    block = re.search(
        rf'data-store="{store_id}"(.*?)</li>\s*(?=<li class="card m-store"|</ul>\s*</section>|$)',
        html,
        re.S,
    )
    assert block, f"store {store_id} not on the page"
    return set(re.findall(rf'{attr}="([0-9a-f-]+)"', block.group(1)))


async def _place(front: Front, shop: Shop, lat: float, lng: float) -> None:
    r = await front.client.patch(
        f"/api/v1/stores/{shop.store_id}/listing",
        json={"location": {"lat": lat, "lng": lng}, "hours": ALWAYS},
    )
    assert r.status_code == 200, r.text


async def _scan(front: Front, shop: Shop, who: Any) -> tuple[set[str], set[str]]:
    """What the till shows for the member: programmes offered, and those needing a bill."""
    body = await front.scan(shop, await front.phone_code(who))
    offered = {b["program_id"] for b in body["benefits"]}
    later = {u["program_id"] for u in body["unavailable"] if u["code"] == "below_min_spend"}
    return offered, later


async def test_each_store_shows_what_the_till_would_offer_this_member(
    app: Litestar, client: Client, demo: dict[str, Any]
) -> None:
    front = await Front(app, client).sign_in()
    root = front.orgs["HB-YC"]
    union = await front.grassroots("HB-YC-XL")
    worker = await front.member(union)
    model = await front.member(union)
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
            r = await phone.get("/m/nearby", params={"near": f"{HERE[0]},{HERE[1]}"})
            assert r.status_code == 200, r.text
            page = r.text
        assert page.index(eatery.store_id) < page.index(shop.store_id)  # nearest first
        for s in (eatery, shop):
            offered, later = await _scan(front, s, who)
            assert _ids(page, s.store_id, "data-usable") == offered
            assert _ids(page, s.store_id, "data-min-spend") == later
        assert dining["id"] in _ids(page, eatery.store_id, "data-usable")
        assert min_spend["id"] in _ids(page, eatery.store_id, "data-min-spend")
        usable_here = _ids(page, eatery.store_id, "data-usable")
        assert (models_only["id"] in usable_here) == (who is model)


async def test_a_store_page_and_where_to_use_a_benefit(
    app: Litestar, client: Client, demo: dict[str, Any]
) -> None:
    front = await Front(app, client).sign_in()
    root = front.orgs["HB-YC"]
    who = await front.member(await front.grassroots("HB-YC-XL"))
    retail = await front.program(root, scope={"merchant_categories": ["retail"]})
    eatery, shop = await front.shop("dining"), await front.shop("retail")
    await _place(front, eatery, HERE[0] + 0.3, HERE[1])
    await _place(front, shop, HERE[0] + 0.3, HERE[1] + 0.01)
    async with front.as_member(who.phone) as phone:
        r = await phone.get(f"/m/stores/{shop.store_id}")
        assert r.status_code == 200, r.text
        assert f'data-usable="{retail["id"]}"' in r.text
        assert 'href="geo:' in r.text and "uri.amap.com" in r.text
        r = await phone.get(
            "/m/nearby", params={"near": f"{HERE[0] + 0.3},{HERE[1]}", "program": retail["id"]}
        )
        assert r.status_code == 200, r.text
        assert shop.store_id in r.text and eatery.store_id not in r.text
        missing = await phone.get("/m/stores/00000000-0000-7000-8000-000000000000")
        assert missing.status_code == 404
        bad = await phone.get("/m/nearby", params={"near": "999,1"})
        assert bad.status_code == 200 and "纬度" in bad.text
