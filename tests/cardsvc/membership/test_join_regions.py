"""Regions when joining: unions found by code prefix or name, the applicant's region code
checked on the form and carried onto the member (the union's when none is given)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from litestar.testing import AsyncTestClient

from cardsvc.kernel.settings import Settings
from tests.cardsvc.membership.test_membership import (
    NEW_ID,
    NEW_PHONE,
    _org_id,
    application,
    member_client,
    stack,  # noqa: F401 (fixture)
)
from tests.support.staff import login


async def test_unions_are_found_by_region_code_or_name(client: AsyncTestClient, demo: Any) -> None:
    by_code = (await client.get("/api/v1/join/unions", params={"region": "420503"})).json()
    by_name = (await client.get("/api/v1/join/unions", params={"region": "伍家岗"})).json()
    assert by_code["items"] and by_code["items"] == by_name["items"]
    assert {u["region_code"] for u in by_code["items"]} == {"420503"}
    assert {u["region_name"] for u in by_code["items"]} == {"湖北省宜昌市伍家岗区"}
    wide = (await client.get("/api/v1/join/unions", params={"region": "4205"})).json()
    assert wide["total"] > by_code["total"]
    assert (await client.get("/api/v1/join/unions", params={"region": "11"})).json()["total"] == 0


async def test_the_applicants_region_code_is_checked_and_kept(
    stack: AsyncExitStack,  # noqa: F811
    settings: Settings,
    client: AsyncTestClient,
    demo: Any,
) -> None:
    worker = await stack.enter_async_context(member_client(settings, NEW_PHONE))
    org_id = await _org_id(worker, "XL-NEWFORMS")
    bad = await worker.post(
        "/api/v1/me/applications", json=application(org_id, region_code="朝阳区")
    )
    assert bad.status_code == 422, bad.text
    assert bad.json()["code"] == "region_code_invalid"
    assert bad.json()["errors"][0]["field"] == "region_code"
    resp = await worker.post(
        "/api/v1/me/applications", json=application(org_id, NEW_ID, region_code="宜都市")
    )
    assert resp.status_code == 201, resp.text
    assert (resp.json()["region_code"], resp.json()["region_name"]) == (
        "420581",
        "湖北省宜昌市宜都市",
    )

    await login(client, "xl.admin")
    ok = await client.post(f"/api/v1/approvals/applications/{resp.json()['id']}/approve")
    assert ok.status_code == 200, ok.text
    found = await client.get("/api/v1/members", params={"member_no": ok.json()["member_no"]})
    member = next(m for m in found.json()["items"] if m["member_no"] == ok.json()["member_no"])
    assert member["region_code"] == "420581"
