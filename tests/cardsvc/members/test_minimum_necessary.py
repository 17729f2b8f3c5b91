"""What each role sees of a member (minimum necessary), the audited and rate-limited look-up by
ID number or phone, and unmasking only by POST with the CSRF token."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.app import create_app
from cardsvc.kernel.regions import full_name, province_code
from cardsvc.kernel.settings import Settings
from tests.cardsvc.members.test_members import (
    ID_NUMBER,
    MEMBERS,
    PHONE,
    assert_problem,
    audit_rows,
    new_member,
    org_ids,  # noqa: F401  (fixture)
)
from tests.support.contract import contract_client
from tests.support.staff import login

LOOKUP = f"{MEMBERS}/lookup"
REGION = "湖北省宜昌市秭归县"
REGION_CODE = "420527"


@pytest.fixture
async def created(client: AsyncTestClient, org_ids: dict[str, str]) -> dict[str, Any]:  # noqa: F811
    """A member of XL-JIDIAN with a household-registration county, made by its union admin."""
    await login(client, "xl.admin")
    r = await client.post(MEMBERS, json=new_member(org_ids["XL-JIDIAN"], region_code=REGION_CODE))
    assert r.status_code == 201, r.text
    client.cookies.clear()
    return dict(r.json())


@pytest.mark.parametrize("username", ["yc.benefits", "hb.auditor"])
async def test_roles_that_may_not_unmask_see_no_birth_date_and_only_the_province(
    client: AsyncTestClient, created: dict[str, Any], username: str
) -> None:
    await login(client, username)
    detail = (await client.get(f"{MEMBERS}/{created['id']}")).json()
    assert detail["birth_date"] is None and detail["birth_year"] == 1990
    assert (detail["region_code"], detail["region_name"]) == ("420000", "湖北省")
    assert detail["id_number_masked"] == ID_NUMBER[:3] + "*" * 11 + ID_NUMBER[-4:]
    assert detail["phone_masked"] == "138****5678"
    listed = (await client.get(MEMBERS, params={"limit": 200})).json()["items"]
    assert listed and all(m["birth_date"] is None for m in listed)
    assert all(m["region_code"] is None or m["region_code"].endswith("0000") for m in listed)
    page = await client.get(f"/console/members/{created['id']}")
    assert page.status_code == 200 and "1990-01-01" not in page.text and "秭归" not in page.text


async def test_roles_that_may_unmask_see_the_birth_date_and_region(
    client: AsyncTestClient, created: dict[str, Any]
) -> None:
    await login(client, "xl.admin")
    detail = (await client.get(f"{MEMBERS}/{created['id']}")).json()
    assert detail["birth_date"] == "1990-01-01" and detail["region_name"] == REGION


@pytest.mark.parametrize("username", ["yc.benefits", "hb.auditor"])
async def test_roles_that_may_not_unmask_cannot_look_up_by_id_number_or_phone(
    client: AsyncTestClient, engine: AsyncEngine, created: dict[str, Any], username: str
) -> None:
    await login(client, username)
    for params in ({"id_number": ID_NUMBER}, {"phone": PHONE}):
        assert_problem(await client.get(MEMBERS, params=params), 403, "identity_lookup_forbidden")
        assert_problem(await client.post(LOOKUP, json=params), 403, "identity_lookup_forbidden")
    page = await client.get("/console/members", params={"id_number": ID_NUMBER})
    assert page.status_code == 403 and "identity_lookup_forbidden" in page.text
    members_page = await client.get("/console/members")
    assert "identity-lookup" not in members_page.text  # no look-up form
    assert await audit_rows(engine, "member.lookup", created["id"]) == []


@pytest.fixture
async def limited(settings: Settings, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient]:
    app = create_app(dataclasses.replace(settings, identity_lookups_per_hour=3))
    async with contract_client(app) as c:
        yield c


async def test_look_up_is_audited_per_search_and_rate_limited(
    limited: AsyncTestClient, engine: AsyncEngine, created: dict[str, Any]
) -> None:
    client = limited
    await login(client, "xl.admin")
    # The list refuses the parameters rather than ignoring them (a list is no match).
    assert_problem(
        await client.get(MEMBERS, params={"id_number": ID_NUMBER}), 400, "identity_lookup_required"
    )
    r = await client.post(LOOKUP, json={"id_number": ID_NUMBER})
    assert r.status_code == 200 and [m["id"] for m in r.json()["items"]] == [created["id"]]
    r = await client.post(LOOKUP, json={"phone": PHONE})
    assert r.status_code == 200 and [m["id"] for m in r.json()["items"]] == [created["id"]]
    rows = await audit_rows(engine, "member.lookup", created["id"])
    assert sorted(tuple(e.summary["by"]) for e in rows) == [("id_number",), ("phone",)]
    assert all(ID_NUMBER not in str(e.summary) and PHONE not in str(e.summary) for e in rows)
    # The console's look-up form is the same capability (a POST with the CSRF token).
    page = await client.post("/console/members/lookup", data={"id_number": ID_NUMBER})
    assert page.status_code == 200 and created["member_no"] in page.text
    assert len(await audit_rows(engine, "member.lookup", created["id"])) == 3
    # The fourth in the hour is refused, with when to retry.
    r = await client.post(LOOKUP, json={"id_number": ID_NUMBER})
    assert_problem(r, 429, "rate_limited")
    assert int(r.headers["retry-after"]) > 0
    assert len(await audit_rows(engine, "member.lookup", created["id"])) == 3


async def test_look_up_without_the_csrf_token_is_refused(
    client: AsyncTestClient, engine: AsyncEngine, created: dict[str, Any]
) -> None:
    await login(client, "xl.admin")
    del client.headers["x-csrf-token"]
    assert_problem(await client.post(LOOKUP, json={"id_number": ID_NUMBER}), 403, "csrf_failed")
    assert await audit_rows(engine, "member.lookup", created["id"]) == []


async def test_unmasking_is_a_post_with_the_csrf_token(
    client: AsyncTestClient, engine: AsyncEngine, created: dict[str, Any]
) -> None:
    await login(client, "xl.admin")
    url = f"{MEMBERS}/{created['id']}/identity"
    # A link another site shows a signed-in officer writes nothing.
    assert (await client.get(url)).status_code == 405
    csrf = client.headers.pop("x-csrf-token")
    assert_problem(await client.post(url), 403, "csrf_failed")
    assert await audit_rows(engine, "member.unmask", created["id"]) == []
    r = await client.post(url, headers={"x-csrf-token": csrf})
    assert r.status_code == 200 and r.json()["id_number"] == ID_NUMBER
    assert len(await audit_rows(engine, "member.unmask", created["id"])) == 1


def test_province_code_keeps_only_the_province() -> None:
    assert full_name(province_code("420527")) == "湖北省"  # 秭归县
    assert full_name(province_code("110101")) == "北京市"
    assert full_name(province_code("650102")) == "新疆维吾尔自治区"
    assert province_code("999999") is None and province_code(None) is None
