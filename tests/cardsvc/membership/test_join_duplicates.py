"""Joining reveals nobody's membership: an application with an ID number that is already a
member's (or pending from another phone) is answered like any other and flagged for staff;
applications are limited per phone and per address."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from cardsvc.kernel.settings import Settings
from tests.cardsvc.membership.test_membership import (
    NEW_ID,
    _org_id,
    _valid_id,
    application,
    member_client,
)
from tests.support.staff import login

APPLY = "/api/v1/me/applications"
QUEUE = "/api/v1/approvals/applications"
OTHER_PHONE = "13687170002"


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as st:
        yield st


async def someones_id_number(client: AsyncTestClient) -> str:
    await login(client, "xl.admin")
    member = (await client.get("/api/v1/members", params={"limit": 1})).json()["items"][0]
    r = await client.post(f"/api/v1/members/{member['id']}/identity")
    return str(r.json()["id_number"])


def shape(body: dict[str, Any]) -> tuple[Any, ...]:
    return (sorted(body), body["status"], "*" in body["id_number_masked"])


async def test_a_members_id_number_is_answered_like_a_fresh_one(
    stack: AsyncExitStack,
    settings: Settings,
    client: AsyncTestClient,
    demo: Any,
) -> None:
    theirs = await someones_id_number(client)
    fresh_phone = await stack.enter_async_context(member_client(settings, "13687170001"))
    prober = await stack.enter_async_context(member_client(settings, OTHER_PHONE))
    org_id = await _org_id(prober, "XL-NEWFORMS")
    fresh = await fresh_phone.post(APPLY, json=application(org_id))
    probe = await prober.post(APPLY, json=application(org_id, theirs))
    assert fresh.status_code == probe.status_code == 201, probe.text
    assert shape(fresh.json()) == shape(probe.json())
    assert "review_flag" not in probe.json()
    mine = (await prober.get(APPLY)).json()
    assert [a["status"] for a in mine] == ["pending"] and "review_flag" not in mine[0]

    # Staff see which one to look at twice; approving it is refused (to them, with reason).
    queue = {a["id"]: a for a in (await client.get(QUEUE)).json()["items"]}
    assert queue[probe.json()["id"]]["review_flag"] == "member"
    assert queue[fresh.json()["id"]]["review_flag"] is None
    ok = await client.post(f"{QUEUE}/{probe.json()['id']}/approve")
    assert ok.status_code == 409 and ok.json()["code"] == "duplicate_id_number"
    page = await client.get("/console/approvals/")
    assert "该身份证号已是会员" in page.text


async def test_another_phones_pending_application_is_flagged_not_revealed(
    stack: AsyncExitStack,
    settings: Settings,
    client: AsyncTestClient,
    demo: Any,
) -> None:
    first = await stack.enter_async_context(member_client(settings, "13687170001"))
    second = await stack.enter_async_context(member_client(settings, OTHER_PHONE))
    org_id = await _org_id(first, "XL-NEWFORMS")
    a = await first.post(APPLY, json=application(org_id))
    b = await second.post(APPLY, json=application(org_id))  # the same ID number
    assert a.status_code == b.status_code == 201, b.text
    assert shape(a.json()) == shape(b.json())
    await login(client, "xl.admin")
    queue = {x["id"]: x for x in (await client.get(QUEUE)).json()["items"]}
    assert queue[a.json()["id"]]["review_flag"] is None
    assert queue[b.json()["id"]]["review_flag"] == "pending"


async def limited(
    settings: Settings, stack: AsyncExitStack, *, per_phone_day: int, per_ip_hour: int
) -> list[Any]:
    """Three applications (three ID numbers) from one phone under these limits."""
    limits = dataclasses.replace(
        settings, join_per_phone_day=per_phone_day, join_per_ip_hour=per_ip_hour
    )
    worker = await stack.enter_async_context(member_client(limits, "13687170001"))
    org_id = await _org_id(worker, "XL-NEWFORMS")
    ids = [NEW_ID, _valid_id("42050219900101124"), _valid_id("42050219900101125")]
    out = []
    for number in ids:
        r = await worker.post(APPLY, json=application(org_id, number))
        out.append(r)
        if r.status_code == 201:  # withdrawn, so that only the limit can refuse the next
            await worker.post(f"{APPLY}/{r.json()['id']}/withdraw")
    return out


async def test_applications_are_limited_per_phone(
    stack: AsyncExitStack,
    settings: Settings,
    demo: Any,
) -> None:
    r = await limited(settings, stack, per_phone_day=2, per_ip_hour=100)
    assert [x.status_code for x in r] == [201, 201, 429], r[-1].text
    assert r[2].json()["code"] == "rate_limited" and int(r[2].headers["retry-after"]) > 0


async def test_applications_are_limited_per_address(
    stack: AsyncExitStack,
    settings: Settings,
    demo: Any,
) -> None:
    r = await limited(settings, stack, per_phone_day=100, per_ip_hour=2)
    assert [x.status_code for x in r] == [201, 201, 429], r[-1].text
    assert r[2].json()["code"] == "rate_limited" and int(r[2].headers["retry-after"]) > 0
