"""Where a programme is accepted, end to end: each scope field set by staff through the API,
checked at tills of merchants, stores and terminals onboarded through the API."""

from __future__ import annotations

from benefits.rules.programme import MerchantCategory
from tests.benefits.e2e.steps import judged, verdict
from tests.support.front import Front

COVERS = {
    "scope.merchant_ids",
    "scope.merchant_categories",
    "scope.store_ids",
    "scope.regions",
    *(f"merchant_category.{c.value}" for c in MerchantCategory),
}


async def test_merchant_categories_every_category(front: Front) -> None:
    """A programme per merchant category: each category's till is offered its own only."""
    who = await front.member(await front.grassroots("HB-YC-XL"))
    code = await front.static_code(who)
    programs = {
        c.value: await front.program(front.orgs["HB"], scope={"merchant_categories": [c.value]})
        for c in MerchantCategory
    }
    for category in MerchantCategory:
        shop = await front.shop(category.value)
        offered = await front.offered(shop, code, 10000)
        mine = {p["id"] for p in programs.values()} & set(offered)
        assert mine == {programs[category.value]["id"]}, category
    two = await front.program(
        front.orgs["HB"], scope={"merchant_categories": ["cinema", "fitness"]}
    )
    assert await verdict(front, await front.shop("fitness"), code, two) == "ok"
    assert await verdict(front, await front.shop("dining"), code, two) == "not_in_scope"


async def test_merchant_ids(front: Front) -> None:
    """Listed merchants only, in every store of theirs; another merchant of the same kind not."""
    who = await front.member(await front.grassroots("HB-YC-XL"))
    code = await front.static_code(who)
    listed = await front.shop()
    second_store = await front.store(listed.merchant_id, "dining")
    other = await front.shop()
    prog = await front.program(front.orgs["HB"], scope={"merchant_ids": [listed.merchant_id]})
    assert await verdict(front, listed, code, prog) == "ok"
    assert await verdict(front, second_store, code, prog) == "ok"
    assert await verdict(front, other, code, prog) == "not_in_scope"


async def test_store_ids(front: Front) -> None:
    """Listed stores only: the same merchant's other store is not in scope."""
    who = await front.member(await front.grassroots("HB-YC-XL"))
    code = await front.static_code(who)
    listed = await front.shop()
    sibling = await front.store(listed.merchant_id, "dining")
    prog = await front.program(front.orgs["HB"], scope={"store_ids": [listed.store_id]})
    assert await verdict(front, listed, code, prog) == "ok"
    assert await verdict(front, sibling, code, prog) == "not_in_scope"


async def test_scope_fields_narrow_each_other(front: Front) -> None:
    """Every list that is set must match: a listed merchant of another category is refused."""
    who = await front.member(await front.grassroots("HB-YC-XL"))
    code = await front.static_code(who)
    dining, cinema = await front.shop("dining"), await front.shop("cinema")
    prog = await front.program(
        front.orgs["HB"],
        scope={
            "merchant_ids": [dining.merchant_id, cinema.merchant_id],
            "merchant_categories": ["dining"],
        },
    )
    assert await verdict(front, dining, code, prog) == "ok"
    assert await verdict(front, cinema, code, prog) == "not_in_scope"


async def test_regions_where_the_sale_happens(front: Front) -> None:
    """``scope.regions``: code prefixes of the store's region, not of the merchant's registered
    one nor of where the member lives."""
    who = await front.member(await front.grassroots("HB-YC-XL"), region="110105")  # lives in 北京
    xiling = await front.shop(region="420502")
    wujiagang = await front.store(xiling.merchant_id, "dining", region="420503")
    yuanan = await front.shop(region="420525", registered="420502")
    beijing = await front.shop(region="110105", registered="420502")
    shops = (xiling, wujiagang, yuanan, beijing)
    no = "not_in_scope/region_not_in_scope"
    cases: list[tuple[list[str], list[str]]] = [
        (["42"], ["ok", "ok", "ok", no]),
        (["4205"], ["ok", "ok", "ok", no]),
        (["420500"], ["ok", "ok", "ok", no]),  # 宜昌市's own code: all of the city
        (["420502"], ["ok", no, no, no]),
        (["420525", "11"], [no, no, "ok", "ok"]),
    ]
    for regions, expected in cases:
        prog = await front.program(
            front.orgs["HB"], scope={"merchant_categories": ["dining"], "regions": regions}
        )
        assert [await judged(front, shop, who, prog) for shop in shops] == expected, regions
    # Every list that is set must match: the region and the category.
    cinema = await front.shop("cinema", region="420502")
    both = await front.program(
        front.orgs["HB"], scope={"merchant_categories": ["dining"], "regions": ["420502"]}
    )
    assert await judged(front, cinema, who, both) == "not_in_scope/merchant_category_not_listed"
