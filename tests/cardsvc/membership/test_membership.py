"""Joining online, approvals, transfers and leaving — through HTTP as members and staff do."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from cardsvc.app import create_app
from cardsvc.kernel.settings import Settings
from cardsvc.memberauth.senders import RecordingSender
from cardsvc.membership.service import PRIVACY_VERSION
from tests.support.contract import contract_client
from tests.support.staff import login

NEW_PHONE = "13687170001"


def _valid_id(body17: str) -> str:
    """Append the ISO 7064 MOD 11-2 check character of a resident ID number."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(body17))
    return body17 + "10X98765432"[total % 11]


NEW_ID = _valid_id("42050219900101123")  # not in the demo


@asynccontextmanager
async def member_client(settings: Settings, phone: str) -> AsyncIterator[AsyncTestClient]:
    """A member's phone: its own app instance (like another worker) on the same database,
    signed in with ``phone``. (One app cannot serve two test clients: each runs the app in
    its own event-loop thread.)"""
    app = create_app(settings)
    sender = RecordingSender()
    app.state.sender = sender
    async with contract_client(app) as c:
        await _sign_in(c, sender, phone)
        yield c


async def _sign_in(c: AsyncTestClient, sender: RecordingSender, phone: str) -> None:
    assert (await c.post("/api/v1/me/otp", json={"phone": phone})).status_code == 202
    found = re.search(r"验证码 (\d{6})", sender.sent[-1][1])
    assert found, sender.sent[-1][1]
    code = found.group(1)
    resp = await c.post("/api/v1/me/session", json={"phone": phone, "code": code})
    assert resp.status_code == 200, resp.text
    c.headers["x-csrf-token"] = resp.json()["csrf_token"]


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as st:
        yield st


async def _org_id(client: AsyncTestClient, code: str) -> str:
    page = (
        await client.get(
            "/api/v1/join/unions",
            params={"q": ""},
        )
    ).json()
    for item in page["items"]:
        if item["code"] == code:
            return item["id"]
    resp = await client.get("/api/v1/join/unions", params={"limit": 50})
    return next(i["id"] for i in resp.json()["items"] if i["code"] == code)


def application(org_id: str | None, id_number: str = NEW_ID, **kw: Any) -> dict[str, Any]:
    body = {
        "name": "王小明",
        "id_number": id_number,
        "org_id": org_id,
        "consent": True,
        "privacy_version": PRIVACY_VERSION,
        "employment_type": "platform_worker",
        "employer": "某外卖平台",
        "job": "外卖骑手",
    }
    body.update(kw)
    return body


async def test_apply_approve_issues_card(
    stack: AsyncExitStack, settings: Settings, client: AsyncTestClient, demo: Any
) -> None:
    worker = await stack.enter_async_context(member_client(settings, NEW_PHONE))
    org_id = await _org_id(worker, "XL-NEWFORMS")
    resp = await worker.post("/api/v1/me/applications", json=application(org_id))
    assert resp.status_code == 201, resp.text
    app_id = resp.json()["id"]
    assert resp.json()["status"] == "pending" and "*" in resp.json()["id_number_masked"]
    # Not a member yet.
    assert (await worker.get("/api/v1/me")).json()["member"] is None

    await login(client, "xl.admin")
    queue = (await client.get("/api/v1/approvals/applications")).json()
    assert app_id in [a["id"] for a in queue["items"]]
    ok = await client.post(f"/api/v1/approvals/applications/{app_id}/approve")
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "approved" and ok.json()["member_no"]

    me = (await worker.get("/api/v1/me")).json()
    assert (
        me["member"]["status"] == "active" and me["member"]["member_no"] == ok.json()["member_no"]
    )
    # The approval is audited.
    await login(client, "admin")
    audit = (await client.get("/api/v1/audit", params={"action": "membership.approve"})).json()
    assert any(e["target_id"] == app_id for e in audit["items"])


async def test_my_own_pending_application_is_refused_again(
    stack: AsyncExitStack, settings: Settings, client: AsyncTestClient, demo: Any
) -> None:
    worker = await stack.enter_async_context(member_client(settings, NEW_PHONE))
    org_id = await _org_id(worker, "XL-NEWFORMS")
    assert (
        await worker.post("/api/v1/me/applications", json=application(org_id))
    ).status_code == 201
    # The same phone again: its owner knows of the application already.
    again = await worker.post("/api/v1/me/applications", json=application(org_id))
    assert again.status_code == 409 and again.json()["code"] == "application_pending"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"consent": False}, "consent"),
        ({"privacy_version": "1999-01"}, "privacy_version"),
        ({"id_number": "420502199001011234"}, "id_number"),
        ({"name": "王1"}, "name"),
        ({"employment_type": "pirate"}, "employment_type"),
    ],
)
async def test_application_validation(
    stack: AsyncExitStack,
    settings: Settings,
    client: AsyncTestClient,
    demo: Any,
    patch: dict[str, Any],
    field: str,
) -> None:
    worker = await stack.enter_async_context(member_client(settings, NEW_PHONE))
    org_id = await _org_id(worker, "XL-NEWFORMS")
    resp = await worker.post("/api/v1/me/applications", json=application(org_id, **patch))
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["code"] == "validation_error" and body["errors"][0]["field"] == field
    assert body["message_zh"] and body["message_en"]


async def test_reject_reason_is_visible_and_other_district_cannot_decide(
    stack: AsyncExitStack, settings: Settings, client: AsyncTestClient, demo: Any
) -> None:
    worker = await stack.enter_async_context(member_client(settings, NEW_PHONE))
    org_id = await _org_id(worker, "XL-NEWFORMS")
    app_id = (await worker.post("/api/v1/me/applications", json=application(org_id))).json()["id"]
    await login(client, "wjg.admin")
    assert (
        await client.post(f"/api/v1/approvals/applications/{app_id}/approve")
    ).status_code == 404
    assert app_id not in [
        a["id"] for a in (await client.get("/api/v1/approvals/applications")).json()["items"]
    ]
    await login(client, "xl.admin")
    no_reason = await client.post(
        f"/api/v1/approvals/applications/{app_id}/reject", json={"reason": " "}
    )
    assert no_reason.status_code == 422
    rej = await client.post(
        f"/api/v1/approvals/applications/{app_id}/reject", json={"reason": "请补充工作证明"}
    )
    assert rej.status_code == 200 and rej.json()["status"] == "rejected"
    mine = (await worker.get("/api/v1/me/applications")).json()
    assert mine[0]["status"] == "rejected" and mine[0]["reason"] == "请补充工作证明"
    twice = await client.post(f"/api/v1/approvals/applications/{app_id}/approve")
    assert twice.status_code == 409 and twice.json()["code"] == "already_decided"


async def test_invite_link_and_bulk_approve(
    stack: AsyncExitStack, settings: Settings, client: AsyncTestClient, demo: Any
) -> None:
    await login(client, "xl.admin")
    org_id = (await client.get("/api/v1/orgs", params={"q": "XL-JIDIAN"})).json()["items"][0]["id"]
    inv = await client.post(
        f"/api/v1/orgs/{org_id}/invites", json={"label": "车间海报", "valid_days": 30}
    )
    assert inv.status_code == 201, inv.text
    token = inv.json()["url"].split("invite=")[1]
    qr = await client.get(f"/api/v1/invites/{inv.json()['id']}/qr.png")
    assert qr.status_code == 200 and qr.content[:4] == b"\x89PNG"
    ids = []
    for i in range(3):
        w = await stack.enter_async_context(member_client(settings, f"1368717010{i}"))
        info = (await w.get(f"/api/v1/join/invites/{token}")).json()
        assert info["union"]["code"] == "XL-JIDIAN"
        body = application(None, _valid_id(f"42050219900202{i:03d}"), invite_token=token)
        body.pop("org_id")
        r = await w.post("/api/v1/me/applications", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["source"] == "invite"
        ids.append(r.json()["id"])
    res = await client.post(
        "/api/v1/approvals/applications/bulk-approve", json={"ids": [*ids, ids[0]]}
    )
    assert res.status_code == 200
    assert [x["ok"] for x in res.json()] == [True, True, True]
    # Revoked invites stop working.
    await client.post(f"/api/v1/invites/{inv.json()['id']}/revoke")
    gone = await client.get(f"/api/v1/join/invites/{token}")
    assert gone.status_code == 404 and gone.json()["code"] == "invite_not_found"


async def test_transfer_keeps_number_and_leave_ends_membership(
    stack: AsyncExitStack, settings: Settings, client: AsyncTestClient, demo: Any
) -> None:
    sample = demo["members"][0]
    worker = await stack.enter_async_context(member_client(settings, sample["phone"]))
    me = (await worker.get("/api/v1/me")).json()["member"]
    target = await _org_id(worker, "WJG-FLEXIBLE")
    t = await worker.post("/api/v1/me/transfers", json={"to_org_id": target, "note": "换了工作"})
    assert t.status_code == 201, t.text
    again = await worker.post("/api/v1/me/transfers", json={"to_org_id": target})
    assert again.status_code == 409 and again.json()["code"] == "transfer_pending"
    # The union the member leaves cannot decide; the receiving one can.
    await login(client, "xl.admin")
    assert (
        await client.post(f"/api/v1/approvals/transfers/{t.json()['id']}/approve")
    ).status_code == 404
    await login(client, "wjg.admin")
    ok = await client.post(f"/api/v1/approvals/transfers/{t.json()['id']}/approve")
    assert ok.status_code == 200, ok.text
    after = (await worker.get("/api/v1/me")).json()["member"]
    assert after["member_no"] == me["member_no"] and after["joined_on"] == me["joined_on"]
    assert after["union_name"] == "伍家岗区灵活就业人员联合工会"
    # Leaving ends the membership.
    left = await worker.post("/api/v1/me/leave", json={"reason": "离开宜昌"})
    assert left.status_code == 200 and left.json()["status"] == "left"
    # …and revokes the card: no more codes for the phone.
    card = await worker.get("/api/v1/me/card/token")
    assert card.status_code == 403 and card.json()["code"] == "card_revoked"
    member_id = (await client.get("/api/v1/members", params={"member_no": me["member_no"]})).json()[
        "items"
    ][0]["id"]
    kinds = [e["kind"] for e in (await client.get(f"/api/v1/members/{member_id}/history")).json()]
    assert "transferred" in kinds and kinds[-1] == "left"


async def test_pending_application_follows_its_union_when_moved(
    stack: AsyncExitStack, settings: Settings, client: AsyncTestClient, demo: Any
) -> None:
    worker = await stack.enter_async_context(member_client(settings, NEW_PHONE))
    org_id = await _org_id(worker, "XL-NEWFORMS")
    app_id = (await worker.post("/api/v1/me/applications", json=application(org_id))).json()["id"]
    await login(client, "yc.admin")
    wjg = (await client.get("/api/v1/orgs", params={"q": "HB-YC-WJG"})).json()["items"][0]["id"]
    moved = await client.patch(f"/api/v1/orgs/{org_id}", json={"parent_id": wjg})
    assert moved.status_code == 200, moved.text
    await login(client, "wjg.admin")
    queue = (await client.get("/api/v1/approvals/applications")).json()["items"]
    assert app_id in [a["id"] for a in queue]
    await login(client, "xl.admin")
    assert (
        await client.post(f"/api/v1/approvals/applications/{app_id}/approve")
    ).status_code == 404
