"""Org and region restrictions as staff configure them and terminals meet them.

Programmes are created through the staff API with ``eligibility.org_ids``,
``eligibility.regions`` and ``scope.regions``; members, merchants and stores through their own
APIs; then the terminal scans and redeems and the staff simulator answers for the same member
and store. Nothing here builds the engine's inputs by hand.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.frontdoor import USCCS, Client, FrontDoor, resident_id

pytestmark = pytest.mark.usefixtures("demo")


@pytest.fixture
async def door(client: Client) -> FrontDoor:
    return await FrontDoor(client).sign_in()


async def _noodles(door: FrontDoor) -> dict[str, Any]:
    """A restaurant in 西陵区 with a store there (宜昌) and one in 武汉市江汉区."""
    m = await door.merchant(USCCS[0], "dining", "420502")
    return {
        "merchant": m,
        "yichang": await door.store(m["id"], "解放路店", "420502"),
        "wuhan": await door.store(m["id"], "江汉路店", "420103"),
    }


async def test_a_programme_for_one_grassroots_union_serves_its_members_only(
    door: FrontDoor,
) -> None:
    shop = await _noodles(door)
    jidian = door.org_id("XL-JIDIAN")
    await door.programme("ONE-UNION", eligibility={"org_ids": [jidian]})
    await door.programme("ONE-DISTRICT", eligibility={"org_ids": [door.org_id("HB-YC-XL")]})
    inside = await door.member("XL-JIDIAN")
    outside = await door.member("XL-HOSPITAL")
    other_district = await door.member(
        next(c for c, o in door.orgs.items() if o["level"] == "grassroots" and "WJG" in c)
    )
    key = shop["yichang"]["key"]

    assert {"ONE-UNION", "ONE-DISTRICT"} <= await door.offered(key, inside["code"])
    assert "ONE-UNION" not in await door.offered(key, outside["code"])
    assert "ONE-DISTRICT" in await door.offered(key, outside["code"])  # same district
    assert not {"ONE-UNION", "ONE-DISTRICT"} & await door.offered(key, other_district["code"])

    union_prog = door.programs["ONE-UNION"]
    ok = await door.redeem(key, inside["code"], union_prog)
    assert ok.status_code == 201, ok.text
    refused = await door.redeem(key, outside["code"], union_prog)
    assert refused.status_code == 403 and refused.json()["code"] == "not_eligible"

    store = {"store_id": shop["yichang"]["id"]}
    assert "ONE-UNION" in await door.simulated(inside["id"], merchant=store)
    sim = await door.simulate(outside["id"], merchant=store, program_ids=[union_prog])
    (row,) = sim.json()["members"]
    assert [r["reasons"][0]["code"] for r in row["not_applicable"]] == ["org_not_listed"]


async def test_member_regions_match_by_code_prefix(door: FrontDoor) -> None:
    shop = await _noodles(door)
    await door.programme("HUBEI-ONLY", eligibility={"regions": ["42"]})
    await door.programme("YUANAN-ONLY", eligibility={"regions": ["420525"]})
    # The member's region defaults to the union's (西陵区 420502); another is given by code,
    # a third by a name that stands for exactly one division.
    local = await door.member("XL-JIDIAN")
    yuanan = await door.member("XL-JIDIAN", region_code="湖北省宜昌市远安县")
    beijing = await door.member("XL-JIDIAN", region_code="110105")
    assert local["region_code"] == "420502" and local["region_name"] == "湖北省宜昌市西陵区"
    assert yuanan["region_code"] == "420525"
    key = shop["yichang"]["key"]

    assert await door.offered(key, local["code"]) >= {"HUBEI-ONLY"}
    assert "YUANAN-ONLY" not in await door.offered(key, local["code"])
    assert await door.offered(key, yuanan["code"]) >= {"HUBEI-ONLY", "YUANAN-ONLY"}
    assert not {"HUBEI-ONLY", "YUANAN-ONLY"} & await door.offered(key, beijing["code"])
    assert (await door.redeem(key, yuanan["code"], door.programs["YUANAN-ONLY"])).status_code == 201

    store = {"store_id": shop["yichang"]["id"]}
    for m in (local, yuanan, beijing):
        assert await door.simulated(m["id"], merchant=store) == await door.offered(key, m["code"])


async def test_scope_regions_follow_the_store_not_the_merchant(door: FrontDoor) -> None:
    shop = await _noodles(door)
    await door.programme(
        "YICHANG-DINING", scope={"merchant_categories": ["dining"], "regions": ["4205"]}
    )
    member = await door.member("XL-JIDIAN")
    pid = door.programs["YICHANG-DINING"]

    assert "YICHANG-DINING" in await door.offered(shop["yichang"]["key"], member["code"])
    assert "YICHANG-DINING" not in await door.offered(shop["wuhan"]["key"], member["code"])
    refused = await door.redeem(shop["wuhan"]["key"], member["code"], pid)
    assert refused.status_code == 403 and refused.json()["code"] == "not_in_scope"

    # The simulator, given the real store or merchant, answers as that store's terminal.
    assert "YICHANG-DINING" in await door.simulated(
        member["id"], merchant={"store_id": shop["yichang"]["id"]}
    )
    assert "YICHANG-DINING" not in await door.simulated(
        member["id"], merchant={"store_id": shop["wuhan"]["id"]}
    )
    assert "YICHANG-DINING" in await door.simulated(
        member["id"], merchant={"merchant_id": shop["merchant"]["id"]}
    )


async def test_the_simulator_uses_the_merchants_real_category(door: FrontDoor) -> None:
    shop = await _noodles(door)
    cinema = await door.merchant(USCCS[1], "cinema", "420503")
    await door.programme("DINING-ONLY", scope={"merchant_categories": ["dining"]})
    member = await door.member("XL-JIDIAN")
    dining_store = {"merchant_id": shop["merchant"]["id"]}
    assert "DINING-ONLY" in await door.simulated(member["id"], merchant=dining_store)
    sim = await door.simulate(
        member["id"],
        merchant={"merchant_id": cinema["id"]},
        program_ids=[door.programs["DINING-ONLY"]],
    )
    (row,) = sim.json()["members"]
    assert row["not_applicable"][0]["reasons"][0]["code"] == "merchant_category_not_listed"


async def test_simulator_point_of_sale_errors(door: FrontDoor) -> None:
    shop = await _noodles(door)
    member = await door.member("XL-JIDIAN")
    # A category beside a real merchant would contradict it.
    r = await door.simulate(
        member["id"], merchant={"merchant_id": shop["merchant"]["id"], "category": "cinema"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "merchant.category"
    # A store of another merchant, or no such store.
    other = await door.merchant(USCCS[1], "cinema", "420503")
    r = await door.simulate(
        member["id"],
        merchant={"merchant_id": other["id"], "store_id": shop["yichang"]["id"]},
    )
    assert r.status_code == 404 and r.json()["code"] == "merchant_not_found"


async def test_regions_are_validated_where_they_are_entered(door: FrontDoor) -> None:
    shop = await _noodles(door)
    r = await door.client.post(
        f"/api/v1/merchants/{shop['merchant']['id']}/stores",
        json={"name": "无名店", "address": "宜昌市某路 1 号", "region": "429999"},
    )
    assert r.status_code == 422 and r.json()["code"] == "region_code_invalid"
    assert r.json()["errors"][0]["field"] == "region"
    assert shop["wuhan"]["region_name"] == "湖北省武汉市江汉区"
    r = await door.client.post(
        "/api/v1/members",
        json={
            "name": "测试会员",
            "id_number": resident_id("420581", 899),
            "org_id": door.org_id("XL-JIDIAN"),
            "region_code": "朝阳区",  # 北京 and 长春 both have one
        },
    )
    assert r.status_code == 422 and r.json()["code"] == "region_code_invalid", r.text
