"""Refusing many applications with one reason, the list of members who left themselves, and
a member's details changed with a reason in the audit row — through the API as staff do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from cardsvc.kernel.settings import Settings
from tests.cardsvc.membership.test_membership import (
    _org_id,
    _valid_id,
    application,
    member_client,
)
from tests.support.staff import login


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as st:
        yield st


async def _apply(stack: AsyncExitStack, settings: Settings, n: int) -> list[str]:
    ids = []
    for i in range(n):
        w = await stack.enter_async_context(member_client(settings, f"1368717020{i}"))
        org_id = await _org_id(w, "XL-JIDIAN")
        r = await w.post(
            "/api/v1/me/applications", json=application(org_id, _valid_id(f"42050219910303{i:03d}"))
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


async def test_bulk_reject_one_reason_each_row_alone(
    stack: AsyncExitStack, settings: Settings, client: AsyncTestClient, demo: Any
) -> None:
    ids = await _apply(stack, settings, 3)
    await login(client, "xl.admin")
    blank = await client.post(
        "/api/v1/approvals/applications/bulk-reject", json={"ids": ids, "reason": "  "}
    )
    assert blank.status_code == 422 and blank.json()["code"] == "validation_error"
    # One approved first: refusing it again fails alone, the others are refused.
    ok = await client.post(f"/api/v1/approvals/applications/{ids[0]}/approve")
    assert ok.status_code == 200, ok.text
    res = await client.post(
        "/api/v1/approvals/applications/bulk-reject",
        json={"ids": [*ids, ids[1]], "reason": "请补充工作证明"},
    )
    assert res.status_code == 200, res.text
    rows = res.json()
    assert [r["id"] for r in rows] == ids
    assert [r["ok"] for r in rows] == [False, True, True]
    assert rows[0]["code"] == "already_decided" and rows[0]["message"]
    for app_id in ids[1:]:
        one = (await client.get(f"/api/v1/approvals/applications/{app_id}")).json()
        assert one["status"] == "rejected" and one["reason"] == "请补充工作证明"
    # Outside the officer's subtrees: not found, each alone.
    await login(client, "wjg.admin")
    res = await client.post(
        "/api/v1/approvals/applications/bulk-reject", json={"ids": ids[:1], "reason": "无权"}
    )
    assert res.json()[0]["code"] == "application_not_found"


async def test_leaves_list_and_member_edit_reason_audited(
    stack: AsyncExitStack, settings: Settings, client: AsyncTestClient, demo: Any
) -> None:
    sample = next(m for m in demo["members"] if m["union"].startswith("XL-"))
    worker = await stack.enter_async_context(member_client(settings, sample["phone"]))
    left = await worker.post("/api/v1/me/leave", json={"reason": "离开宜昌"})
    assert left.status_code == 200, left.text
    await login(client, "xl.admin")
    page = (await client.get("/api/v1/approvals/leaves")).json()
    mine = [i for i in page["items"] if i["member_no"] == sample["member_no"]]
    assert mine and mine[0]["reason"] == "离开宜昌" and "*" in mine[0]["member_name"]
    # Another district's union does not see it.
    await login(client, "wjg.admin")
    other = (await client.get("/api/v1/approvals/leaves")).json()["items"]
    assert sample["member_no"] not in [i["member_no"] for i in other]

    await login(client, "xl.admin")
    other_no = next(
        m["member_no"]
        for m in demo["members"]
        if m["union"].startswith("XL-") and m["member_no"] != sample["member_no"]
    )
    found = await client.get("/api/v1/members", params={"member_no": other_no})
    member_id = found.json()["items"][0]["id"]
    upd = await client.patch(
        f"/api/v1/members/{member_id}", json={"job": "焊工", "reason": "本人来电更正岗位"}
    )
    assert upd.status_code == 200 and upd.json()["job"] == "焊工", upd.text
    await login(client, "hb.auditor")
    audit = (await client.get("/api/v1/audit", params={"action": "member.update"})).json()
    row = next(e for e in audit["items"] if e["target_id"] == member_id)
    assert row["summary"]["reason"] == "本人来电更正岗位"
    assert row["summary"]["fields"] == ["job"]
