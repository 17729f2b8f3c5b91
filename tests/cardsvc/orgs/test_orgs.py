"""The union tree over HTTP: create/move/close rules, subtree scoping, pagination and search.

Runs on SQLite and PostgreSQL (``engine``) against the seeded demo federation:
HB → HB-YC → HB-YC-XL (4 grassroots XL-*) / HB-YC-WJG (4 grassroots WJG-*).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.db import make_sessionmaker
from cardsvc.members.models import Member
from cardsvc.orgs.models import Org
from tests.support.staff import login

ORGS = "/api/v1/orgs"
DEMO_ORG_COUNT = 12  # 4 federations + 8 grassroots unions


@pytest.fixture
async def org_ids(engine: AsyncEngine, demo: dict[str, Any]) -> dict[str, str]:
    """Demo org code → id (as the API spells it)."""
    async with make_sessionmaker(engine)() as s:
        rows = (await s.execute(select(Org.code, Org.id))).all()
    return {code: str(oid) for code, oid in rows}


def assert_problem(resp: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["message_zh"] and body["message_en"]
    if field is not None:
        assert body["errors"][0]["field"] == field, body
        assert body["errors"][0]["reason"] and body["errors"][0]["reason_en"]
    return body


async def create_org(
    client: AsyncTestClient, parent_id: str, code: str, level: str, name: str = "测试工会"
) -> Any:
    return await client.post(
        ORGS, json={"code": code, "name": name, "level": level, "parent_id": parent_id}
    )


async def all_codes(client: AsyncTestClient, **params: Any) -> list[str]:
    resp = await client.get(ORGS, params={"limit": 200, **params})
    assert resp.status_code == 200, resp.text
    return [o["code"] for o in resp.json()["items"]]


# ----------------------------------------------------------------- create


async def test_create_under_parent_in_own_subtree(
    client: AsyncTestClient, org_ids: dict[str, str]
) -> None:
    await login(client, "xl.admin")
    resp = await create_org(
        client, org_ids["HB-YC-XL"], "xl-express", "grassroots", "西陵区快递行业工会"
    )
    assert resp.status_code == 201, resp.text
    org = resp.json()
    assert org["code"] == "XL-EXPRESS"  # normalised to upper case
    assert org["parent_id"] == org_ids["HB-YC-XL"]
    assert org["level"] == "grassroots" and org["status"] == "active"
    assert org["depth"] == 4

    detail = (await client.get(f"{ORGS}/{org['id']}")).json()
    assert [a["code"] for a in detail["ancestors"]] == ["HB", "HB-YC", "HB-YC-XL"]
    assert "XL-EXPRESS" in await all_codes(client, under=org_ids["HB-YC-XL"])


@pytest.mark.parametrize(
    ("parent", "level"),
    [
        ("HB-YC-XL", "city"),  # above the district parent
        ("HB-YC-XL", "district"),  # same level as the parent
        ("HB-YC", "provincial"),
    ],
)
async def test_level_must_be_below_parent(
    client: AsyncTestClient, org_ids: dict[str, str], parent: str, level: str
) -> None:
    await login(client, "admin")
    resp = await create_org(client, org_ids[parent], "NEW-ORG", level)
    assert_problem(resp, 422, "validation_error", field="level")
    assert "NEW-ORG" not in await all_codes(client)


async def test_grassroots_union_cannot_have_children(
    client: AsyncTestClient, org_ids: dict[str, str]
) -> None:
    await login(client, "admin")
    resp = await create_org(client, org_ids["XL-JIDIAN"], "JIDIAN-SUB", "grassroots")
    assert_problem(resp, 422, "validation_error", field="parent_id")


async def test_root_cannot_be_created_over_the_api(client: AsyncTestClient, demo: Any) -> None:
    await login(client, "admin")
    resp = await client.post(
        ORGS, json={"code": "HN", "name": "湖南省总工会", "level": "provincial"}
    )
    assert 400 <= resp.status_code < 500
    assert resp.json()["code"] == "validation_error"


@pytest.mark.parametrize("code", ["AB CD", "X_Y", "中文编码", "-LEADING"])
async def test_code_format_is_validated(
    client: AsyncTestClient, org_ids: dict[str, str], code: str
) -> None:
    await login(client, "admin")
    resp = await create_org(client, org_ids["HB-YC-XL"], code, "grassroots")
    assert_problem(resp, 422, "validation_error", field="code")


async def test_too_short_code_names_the_field(
    client: AsyncTestClient, org_ids: dict[str, str]
) -> None:
    await login(client, "admin")
    resp = await create_org(client, org_ids["HB-YC-XL"], "X", "grassroots")
    body = assert_problem(resp, resp.status_code, "validation_error")
    assert 400 <= resp.status_code < 500
    assert body["errors"][0]["field"] == "code"


async def test_duplicate_code_is_a_conflict(
    client: AsyncTestClient, org_ids: dict[str, str]
) -> None:
    await login(client, "admin")
    resp = await create_org(client, org_ids["HB-YC-WJG"], "xl-jidian", "grassroots")
    assert_problem(resp, 409, "org_code_taken", field="code")
    assert (await all_codes(client)).count("XL-JIDIAN") == 1


async def test_rename_and_region(client: AsyncTestClient, org_ids: dict[str, str]) -> None:
    await login(client, "xl.admin")
    resp = await client.patch(
        f"{ORGS}/{org_ids['XL-HOSPITAL']}",
        json={"name": "西陵区人民医院工会", "region_code": "420502"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["name"] == "西陵区人民医院工会"
    got = (await client.get(f"{ORGS}/{org_ids['XL-HOSPITAL']}")).json()
    assert (got["region_code"], got["region_name"]) == ("420502", "湖北省宜昌市西陵区")
    # A name that stands for exactly one division is taken as its code.
    resp = await client.patch(
        f"{ORGS}/{org_ids['XL-HOSPITAL']}", json={"region_code": "湖北省宜昌市远安县"}
    )
    assert resp.json()["region_code"] == "420525"
    # An unknown code, or a name shared by several divisions, is refused: never guessed.
    for value in ("429999", "西陵", "朝阳区"):
        bad = await client.patch(f"{ORGS}/{org_ids['XL-HOSPITAL']}", json={"region_code": value})
        assert bad.status_code == 422, bad.text
        assert bad.json()["code"] == "region_code_invalid"
        assert bad.json()["errors"][0]["field"] == "region_code"
    assert (await client.get(f"{ORGS}/{org_ids['XL-HOSPITAL']}")).json()["region_code"] == "420525"
    bad = await client.patch(f"{ORGS}/{org_ids['XL-HOSPITAL']}", json={"name": " "})
    assert 400 <= bad.status_code < 500
    assert bad.json()["errors"][0]["field"] == "name"


# ----------------------------------------------------------------- move


async def test_move_under_own_descendant_is_refused(
    client: AsyncTestClient, org_ids: dict[str, str]
) -> None:
    await login(client, "admin")
    for target in ("HB-YC-XL", "XL-JIDIAN"):  # itself, then its own child
        resp = await client.patch(
            f"{ORGS}/{org_ids['HB-YC-XL']}", json={"parent_id": org_ids[target]}
        )
        body = assert_problem(resp, 422, "validation_error", field="parent_id")
        assert "descendant" in body["errors"][0]["reason_en"]
    # The tree is unchanged.
    detail = (await client.get(f"{ORGS}/{org_ids['HB-YC-XL']}")).json()
    assert detail["parent_id"] == org_ids["HB-YC"]
    assert detail["depth"] == 3


async def test_move_cycle_through_a_deeper_descendant(
    client: AsyncTestClient, org_ids: dict[str, str]
) -> None:
    """Moving the city under its grandchild is a cycle too, not only under a direct child."""
    await login(client, "admin")
    resp = await client.patch(
        f"{ORGS}/{org_ids['HB-YC']}", json={"parent_id": org_ids["WJG-SCHOOL"]}
    )
    assert_problem(resp, 422, "validation_error", field="parent_id")
    assert (await client.get(f"{ORGS}/{org_ids['HB-YC']}")).json()["parent_id"] == org_ids["HB"]


async def test_move_must_respect_levels(client: AsyncTestClient, org_ids: dict[str, str]) -> None:
    await login(client, "admin")
    # A district federation under another district federation: same level.
    resp = await client.patch(
        f"{ORGS}/{org_ids['HB-YC-XL']}", json={"parent_id": org_ids["HB-YC-WJG"]}
    )
    assert_problem(resp, 422, "validation_error", field="level")
    # A grassroots union under another grassroots union.
    resp = await client.patch(
        f"{ORGS}/{org_ids['XL-JIDIAN']}", json={"parent_id": org_ids["XL-HOSPITAL"]}
    )
    assert_problem(resp, 422, "validation_error", field="parent_id")


async def test_move_updates_paths_so_subtree_queries_follow(
    client: AsyncTestClient, engine: AsyncEngine, org_ids: dict[str, str]
) -> None:
    jidian, xl, wjg = org_ids["XL-JIDIAN"], org_ids["HB-YC-XL"], org_ids["HB-YC-WJG"]
    await login(client, "admin")

    async def member_total(**params: Any) -> int:
        resp = await client.get("/api/v1/members", params={"limit": 1, **params})
        assert resp.status_code == 200, resp.text
        return resp.json()["total"]

    n_jidian = await member_total(org_id=jidian)
    n_xl, n_wjg = await member_total(org_id=xl), await member_total(org_id=wjg)
    assert n_jidian > 0

    await login(client, "yc.admin")
    resp = await client.patch(f"{ORGS}/{jidian}", json={"parent_id": wjg})
    assert resp.status_code == 200, resp.text
    assert resp.json()["parent_id"] == wjg and resp.json()["depth"] == 4

    await login(client, "admin")
    assert await member_total(org_id=xl) == n_xl - n_jidian
    assert await member_total(org_id=wjg) == n_wjg + n_jidian
    assert "XL-JIDIAN" in await all_codes(client, under=wjg)
    assert "XL-JIDIAN" not in await all_codes(client, under=xl)
    ancestors = (await client.get(f"{ORGS}/{jidian}")).json()["ancestors"]
    assert [a["code"] for a in ancestors] == ["HB", "HB-YC", "HB-YC-WJG"]

    # Every member row of the moved union carries the new path prefix.
    async with make_sessionmaker(engine)() as s:
        wjg_path = await s.scalar(select(Org.path).where(Org.code == "HB-YC-WJG"))
        stale = await s.scalar(
            select(func.count())
            .select_from(Member)
            .where(Member.org_id == uuid.UUID(jidian), ~Member.org_path.startswith(wjg_path))
        )
    assert stale == 0

    # Access follows the tree: the district admins swap who sees the moved union's members.
    one = (await client.get("/api/v1/members", params={"org_id": jidian, "limit": 1})).json()[
        "items"
    ][0]
    await login(client, "wjg.admin")
    assert (await client.get(f"/api/v1/members/{one['id']}")).status_code == 200
    await login(client, "xl.admin")
    assert (await client.get(f"/api/v1/members/{one['id']}")).status_code == 404
    # The union's own admin (grant on XL-JIDIAN) keeps access: the grant's path moved too.
    await login(client, "xl.jidian")
    assert (await client.get(f"/api/v1/members/{one['id']}")).status_code == 200
    assert await member_total() == n_jidian


# ----------------------------------------------------------------- close


async def test_close_refused_with_open_children_or_members(
    client: AsyncTestClient, org_ids: dict[str, str]
) -> None:
    await login(client, "yc.admin")
    resp = await client.post(f"{ORGS}/{org_ids['HB-YC-XL']}/close", json={"reason": "撤并"})
    assert_problem(resp, 409, "org_has_children")
    resp = await client.post(f"{ORGS}/{org_ids['XL-JIDIAN']}/close", json={"reason": "撤并"})
    assert_problem(resp, 409, "org_has_members")
    for code in ("HB-YC-XL", "XL-JIDIAN"):
        assert (await client.get(f"{ORGS}/{org_ids[code]}")).json()["status"] == "active"


async def test_closed_org_accepts_no_members_and_no_children(
    client: AsyncTestClient, org_ids: dict[str, str]
) -> None:
    await login(client, "yc.admin")
    union = (await create_org(client, org_ids["HB-YC-XL"], "XL-EMPTY", "grassroots")).json()
    district = (await create_org(client, org_ids["HB-YC"], "YC-DIANJUN", "district")).json()
    for org in (union, district):
        resp = await client.post(f"{ORGS}/{org['id']}/close", json={"reason": "机构调整"})
        assert resp.status_code == 200, resp.text
        assert resp.json()["status"] == "closed"

    resp = await client.post(f"{ORGS}/{union['id']}/close", json={"reason": "再次撤销"})
    assert_problem(resp, 409, "org_closed")

    resp = await client.post(
        "/api/v1/members",
        json={"name": "张三明", "id_number": "420502199001011238", "org_id": union["id"]},
    )
    assert_problem(resp, 422, "validation_error", field="org_id")
    total = (await client.get("/api/v1/members", params={"org_id": union["id"]})).json()["total"]
    assert total == 0

    resp = await create_org(client, district["id"], "DJ-NEW", "grassroots")
    assert_problem(resp, 422, "validation_error", field="parent_id")
    # Nothing may be moved under a closed org either.
    resp = await client.patch(
        f"{ORGS}/{org_ids['XL-COMMERCE']}", json={"parent_id": district["id"]}
    )
    assert_problem(resp, 422, "validation_error", field="parent_id")


async def test_close_needs_a_reason(client: AsyncTestClient, org_ids: dict[str, str]) -> None:
    await login(client, "yc.admin")
    union = (await create_org(client, org_ids["HB-YC-XL"], "XL-EMPTY", "grassroots")).json()
    resp = await client.post(f"{ORGS}/{union['id']}/close", json={})
    assert 400 <= resp.status_code < 500
    assert resp.json()["code"] == "validation_error"
    assert (await client.get(f"{ORGS}/{union['id']}")).json()["status"] == "active"


# ----------------------------------------------------------------- list, search, paging


async def test_pagination_limit_offset_total(client: AsyncTestClient, demo: Any) -> None:
    await login(client, "admin")
    seen: list[str] = []
    for offset in range(0, DEMO_ORG_COUNT + 3, 5):
        page = (await client.get(ORGS, params={"limit": 5, "offset": offset})).json()
        assert page["total"] == DEMO_ORG_COUNT
        assert page["limit"] == 5 and page["offset"] == offset
        assert len(page["items"]) == max(0, min(5, DEMO_ORG_COUNT - offset))
        seen += [o["id"] for o in page["items"]]
    assert len(seen) == len(set(seen)) == DEMO_ORG_COUNT


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"offset": -1}])
async def test_pagination_bounds(
    client: AsyncTestClient, demo: Any, params: dict[str, int]
) -> None:
    await login(client, "admin")
    resp = await client.get(ORGS, params=params)
    body = assert_problem(resp, 400, "validation_error")
    assert body["errors"][0]["field"] == next(iter(params))


async def test_search_by_name_code_and_level(client: AsyncTestClient, demo: Any) -> None:
    await login(client, "admin")
    by_name = await all_codes(client, q="西陵")
    assert "HB-YC-XL" in by_name and "XL-HOSPITAL" in by_name
    assert not any(c.startswith("WJG") or c == "HB-YC-WJG" for c in by_name)
    assert await all_codes(client, q="wjg-school") == ["WJG-SCHOOL"]
    grassroots = await all_codes(client, level="grassroots")
    assert len(grassroots) == 8 and "HB-YC" not in grassroots
    page = (await client.get(ORGS, params={"q": "工会", "limit": 2})).json()
    assert page["total"] == DEMO_ORG_COUNT and len(page["items"]) == 2
    assert (await client.get(ORGS, params={"q": "不存在的工会"})).json()["total"] == 0
    # LIKE metacharacters are text, not wildcards.
    assert (await client.get(ORGS, params={"q": "%"})).json()["total"] == 0


# ----------------------------------------------------------------- role × subtree


async def test_list_returns_only_own_subtree(client: AsyncTestClient, demo: Any) -> None:
    await login(client, "wjg.admin")
    codes = await all_codes(client)
    assert sorted(codes) == sorted(
        ["HB-YC-WJG", "WJG-LOGISTICS", "WJG-CONSTRUCTION", "WJG-FLEXIBLE", "WJG-SCHOOL"]
    )
    assert (await client.get(ORGS)).json()["total"] == 5
    # Searching for another district's org by name finds nothing.
    assert await all_codes(client, q="西陵") == []


async def test_other_district_org_is_not_found(
    client: AsyncTestClient, org_ids: dict[str, str]
) -> None:
    await login(client, "wjg.admin")
    for code in ("HB-YC-XL", "XL-JIDIAN", "HB-YC"):
        assert_problem(await client.get(f"{ORGS}/{org_ids[code]}"), 404, "org_not_found")
    resp = await client.patch(f"{ORGS}/{org_ids['XL-JIDIAN']}", json={"name": "改名测试"})
    assert_problem(resp, 404, "org_not_found")
    resp = await client.post(f"{ORGS}/{org_ids['XL-COMMERCE']}/close", json={"reason": "撤并"})
    assert_problem(resp, 404, "org_not_found")
    resp = await create_org(client, org_ids["HB-YC-XL"], "WJG-SNEAK", "grassroots")
    assert_problem(resp, 404, "org_not_found")
    # Nor can an own union be moved into the other district.
    resp = await client.patch(
        f"{ORGS}/{org_ids['WJG-SCHOOL']}", json={"parent_id": org_ids["HB-YC-XL"]}
    )
    assert_problem(resp, 404, "org_not_found")
    resp = await client.get(ORGS, params={"under": org_ids["HB-YC-XL"]})
    assert_problem(resp, 404, "org_not_found")

    await login(client, "xl.admin")
    assert (await client.get(f"{ORGS}/{org_ids['XL-JIDIAN']}")).json()["name"] != "改名测试"


async def test_read_only_roles_cannot_change_the_tree(
    client: AsyncTestClient, org_ids: dict[str, str]
) -> None:
    for username in ("hb.auditor", "yc.benefits", "yc.merchants"):
        await login(client, username)
        # They may read the tree of their subtree …
        assert (await client.get(f"{ORGS}/{org_ids['XL-JIDIAN']}")).status_code == 200
        # … but not change it.
        resp = await create_org(client, org_ids["HB-YC-XL"], "XL-RO", "grassroots")
        assert resp.status_code in (403, 404), resp.text
        resp = await client.patch(f"{ORGS}/{org_ids['XL-JIDIAN']}", json={"name": "改名测试"})
        assert resp.status_code in (403, 404), resp.text
    await login(client, "admin")
    assert "XL-RO" not in await all_codes(client)
