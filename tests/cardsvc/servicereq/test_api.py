"""Service requests through HTTP, as members on their phones and staff in the console do:
routing, the whole life of a request, who may see what (404 otherwise), attachment limits,
the inbox, walk-in filing, service-level settings and the report endpoint."""

from __future__ import annotations

import dataclasses
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.settings import Settings
from tests.cardsvc.membership.test_membership import member_client
from tests.support.staff import login

URL = "/api/v1/service-requests"
ME = "/api/v1/me/service-requests"


def png(extra: int = 0) -> bytes:
    """A real 1×1 PNG (optionally padded with an ancillary chunk to make it large)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    body = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    if extra:
        body += chunk(b"tEXt", b"c\x00" + b"x" * extra)
    body += chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def sample(demo: dict[str, Any], union: str, nth: int = 0) -> dict[str, Any]:
    return [m for m in demo["members"] if m["union"] == union][nth]


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as st:
        yield st


async def _file(c: AsyncTestClient, **kw: Any) -> dict[str, Any]:
    body = {"kind": "legal_aid", "title": "被拖欠工资", "description": "公司拖欠两个月工资", **kw}
    resp = await c.post(ME, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_life_of_a_request_and_who_sees_it(
    client: AsyncTestClient,
    settings: Settings,
    engine: AsyncEngine,
    demo: dict,
    stack: AsyncExitStack,
) -> None:
    jidian = sample(demo, "XL-JIDIAN")
    alice = await stack.enter_async_context(member_client(settings, jidian["phone"]))
    other = await stack.enter_async_context(
        member_client(settings, sample(demo, "XL-COMMERCE")["phone"])
    )
    detail = await _file(alice, contact_preference="sms")
    req = detail["request"]
    rid = req["id"]
    # Routed to the member's grassroots union, waiting to be accepted, with a deadline.
    assert req["union"]["code"] == "XL-JIDIAN" and req["handling_org"]["code"] == "XL-JIDIAN"
    assert req["status"] == "submitted" and req["due_at"] and not req["overdue"]
    assert [s["kind"] for s in detail["steps"]] == ["submitted"]

    # Another member, and staff of another district: 404, as if it did not exist.
    assert (await other.get(f"{ME}/{rid}")).json()["code"] == "request_not_found"
    assert (await other.post(f"{ME}/{rid}/withdraw", json={})).status_code == 404
    assert rid not in {r["id"] for r in (await other.get(ME)).json()["items"]}
    await login(client, "wjg.admin")
    assert (await client.get(f"{URL}/{rid}")).status_code == 404
    assert (await client.post(f"{URL}/{rid}/accept", json={})).status_code == 404
    assert rid not in {
        r["id"] for r in (await client.get(URL, params={"limit": 200})).json()["items"]
    }
    # A role without service handling (benefits) sees nothing either.
    await login(client, "yc.benefits")
    assert (await client.get(f"{URL}/{rid}")).status_code == 404

    # The union's staff: in their queue, accept, ask for more, member replies, payment, resolve.
    await login(client, "xl.jidian")
    queue = (await client.get(URL, params={"status": "submitted", "kind": "legal_aid"})).json()
    assert rid in {r["id"] for r in queue["items"]}
    assert queue["counts"]["submitted"] >= 1 and "overdue" in queue["counts"]
    item = next(r for r in queue["items"] if r["id"] == rid)
    assert (
        item["member"]["member_no"] == jidian["member_no"] and "*" in item["member"]["name_masked"]
    )
    assert (await client.post(f"{URL}/{rid}/accept", json={"note": "已受理"})).status_code == 200
    resp = await client.post(f"{URL}/{rid}/request-info", json={"note": "请上传劳动合同"})
    assert (
        resp.json()["request"]["status"] == "info_requested" and resp.json()["paused_seconds"] > 0
    )
    resp = await alice.post(f"{ME}/{rid}/reply", json={"note": "已上传合同"})
    assert resp.status_code == 200 and resp.json()["request"]["status"] == "accepted"
    resp = await client.post(f"{URL}/{rid}/handling", json={"kind": "payment", "note": "x"})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "amount_fen"
    resp = await client.post(
        f"{URL}/{rid}/handling", json={"kind": "visit", "note": "上门了解情况"}
    )
    assert resp.status_code == 200
    resp = await client.post(f"{URL}/{rid}/resolve", json={"outcome": "已协调企业补发工资"})
    assert resp.json()["request"]["status"] == "resolved"

    # The member sees every step (staff names hidden) and rates once.
    mine = (await alice.get(f"{ME}/{rid}")).json()
    assert [s["kind"] for s in mine["steps"]] == [
        "submitted",
        "accepted",
        "info_requested",
        "member_reply",
        "visit",
        "resolved",
    ]
    assert all(s["actor"] is None for s in mine["steps"] if s["actor_type"] == "staff")
    assert (await alice.post(f"{ME}/{rid}/rating", json={"rating": 6})).status_code == 400
    assert (await alice.post(f"{ME}/{rid}/rating", json={"rating": 4})).status_code == 200
    assert (await alice.post(f"{ME}/{rid}/rating", json={"rating": 5})).json()[
        "code"
    ] == "already_rated"

    # Resolved: changes refused until reopened (audited).
    resp = await client.post(f"{URL}/{rid}/reject", json={"reason": "x"})
    assert (resp.status_code, resp.json()["code"]) == (409, "request_closed")
    assert (await alice.post(f"{ME}/{rid}/withdraw", json={})).json()["code"] == "request_closed"
    resp = await client.post(f"{URL}/{rid}/reopen", json={"reason": "企业未按时补发"})
    assert resp.json()["request"]["status"] == "accepted" and resp.json()["reopened"] == 1
    async with make_sessionmaker(engine)() as s:
        actions = set(await s.scalars(select(AuditEntry.action).where(AuditEntry.target_id == rid)))
    assert {
        "service.accept",
        "service.request_info",
        "service.visit",
        "service.resolve",
        "service.reopen",
    } <= actions

    # The inbox: the member was told about each staff step; mark all read.
    inbox = (await alice.get("/api/v1/me/inbox")).json()
    topics = [n["topic"] for n in inbox["items"]]
    assert "service.accepted" in topics and "service.resolved" in topics
    assert inbox["unread"] == inbox["total"] > 0
    assert (await alice.post("/api/v1/me/inbox/read", json={})).json()["marked"] == inbox["total"]
    assert (await alice.get("/api/v1/me/inbox")).json()["unread"] == 0
    theirs = (await other.get("/api/v1/me/inbox", params={"limit": 100})).json()["items"]
    assert rid not in {n["subject_id"] for n in theirs}
    # Staff of the union were told about the new request and the reply.
    staff_inbox = (await client.get("/api/v1/inbox")).json()
    assert {"service.submitted", "service.member_reply"} <= {
        n["topic"] for n in staff_inbox["items"]
    }


@pytest.fixture
def small_limits(settings: Settings) -> Settings:
    return dataclasses.replace(settings, attachment_max_mb=1, attachment_max_count=2)


async def test_attachment_limits(small_limits: Settings, demo: dict, stack: AsyncExitStack) -> None:
    alice = await stack.enter_async_context(
        member_client(small_limits, sample(demo, "XL-JIDIAN")["phone"])
    )
    other = await stack.enter_async_context(
        member_client(small_limits, sample(demo, "XL-COMMERCE")["phone"])
    )
    rid = (await _file(alice))["request"]["id"]
    up = f"{ME}/{rid}/attachments"
    # Type by content: text named .png with an image type is refused.
    resp = await alice.post(
        up, files={"file": ("photo.png", b"just text, not an image", "image/png")}
    )
    assert (resp.status_code, resp.json()["code"]) == (415, "attachment_type")
    # Too large (limit 1 MB).
    resp = await alice.post(up, files={"file": ("big.png", png(extra=1024 * 1024), "image/png")})
    assert (resp.status_code, resp.json()["code"]) == (413, "attachment_too_large")
    # Not multipart at all.
    resp = await alice.post(up, content=png(), headers={"content-type": "image/png"})
    assert resp.status_code == 415
    # Accepted: a PNG sent as octet-stream under a .pdf name is stored as what it is.
    resp = await alice.post(up, files={"file": ("scan.pdf", png(), "application/octet-stream")})
    assert resp.status_code == 201, resp.text
    first = resp.json()
    assert first["media_type"] == "image/png" and len(first["sha256"]) == 64
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    resp = await alice.post(up, files={"file": ("合同.pdf", pdf, "application/pdf")})
    assert resp.status_code == 201 and resp.json()["media_type"] == "application/pdf"
    # Too many (limit 2).
    resp = await alice.post(up, files={"file": ("more.png", png(), "image/png")})
    assert (resp.status_code, resp.json()["code"]) == (409, "too_many_attachments")
    # Stored outside the database under the hash; downloads only by the owner.
    stored = small_limits.var_dir / "attachments" / first["sha256"][:2] / first["sha256"]
    assert stored.read_bytes() == png() and oct(stored.stat().st_mode & 0o777) == "0o600"
    resp = await alice.get(f"{up}/{first['id']}")
    assert resp.content == png() and resp.headers["content-type"].startswith("image/png")
    assert (await other.get(f"{up}/{first['id']}")).status_code == 404
    detail = (await alice.get(f"{ME}/{rid}")).json()
    assert [a["filename"] for a in detail["attachments"]] == ["scan.pdf", "合同.pdf"]


async def test_walk_in_filed_by_staff_and_sla_settings(
    client: AsyncTestClient, settings: Settings, demo: dict, stack: AsyncExitStack
) -> None:
    jidian = sample(demo, "XL-JIDIAN")
    await login(client, "xl.jidian")
    member_id = (await client.get("/api/v1/members", params={"q": jidian["member_no"]})).json()[
        "items"
    ][0]["id"]
    resp = await client.post(
        URL,
        json={
            "member_id": member_id,
            "kind": "hardship",
            "title": "到工会服务站求助",
            "description": "家中遭遇火灾",
            "channel": "walk_in",
        },
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["request"]["channel"] == "walk_in" and resp.json()["filed_by"] == "xl.jidian"
    alice = await stack.enter_async_context(member_client(settings, jidian["phone"]))
    mine = (await alice.get(ME)).json()
    assert resp.json()["request"]["id"] in {r["id"] for r in mine["items"]}
    # Another district's member cannot be filed for.
    await login(client, "wjg.admin")
    resp = await client.post(
        URL, json={"member_id": member_id, "kind": "other", "title": "x", "description": "y"}
    )
    assert resp.status_code == 404

    # Service-level times: a district admin sets them, the grassroots union inherits them.
    await login(client, "xl.admin")
    orgs = (await client.get("/api/v1/orgs", params={"limit": 200})).json()
    ids = {o["code"]: o["id"] for o in (orgs["items"] if isinstance(orgs, dict) else orgs)}
    resp = await client.put(
        f"/api/v1/orgs/{ids['HB-YC-XL']}/service-levels/hardship",
        json={"accept_hours": 6, "resolve_hours": 72},
    )
    assert resp.status_code == 200, resp.text
    levels = (await client.get(f"/api/v1/orgs/{ids['XL-JIDIAN']}/service-levels")).json()
    hardship = next(x for x in levels if x["kind"] == "hardship")
    assert (hardship["accept_hours"], hardship["resolve_hours"], hardship["source"]) == (
        6,
        72,
        "org",
    )
    resp = await client.put(
        f"/api/v1/orgs/{ids['HB-YC-XL']}/service-levels/hardship",
        json={"accept_hours": 80, "resolve_hours": 72},
    )
    assert resp.status_code == 422
    # The grassroots admin may not change the district's times (outside their subtree).
    await login(client, "xl.jidian")
    resp = await client.put(
        f"/api/v1/orgs/{ids['HB-YC-XL']}/service-levels/other",
        json={"accept_hours": 1, "resolve_hours": 2},
    )
    assert resp.status_code == 404


async def test_hardship_api_wrong_level_and_audited_reads(
    client: AsyncTestClient, demo: dict
) -> None:
    jidian = sample(demo, "XL-JIDIAN")
    await login(client, "xl.jidian")
    member_id = (await client.get("/api/v1/members", params={"q": jidian["member_no"]})).json()[
        "items"
    ][0]["id"]
    resp = await client.post(
        "/api/v1/hardship/records",
        json={
            "member_id": member_id,
            "category": "relative",
            "level": 2,
            "circumstances": "低收入",
        },
    )
    assert resp.status_code == 201, resp.text
    rec = resp.json()
    assert rec["status"] == "pending" and rec["approver_org"] == "西陵区总工会"
    resp = await client.post(f"/api/v1/hardship/records/{rec['id']}/approve", json={})
    assert (resp.status_code, resp.json()["code"]) == (403, "hardship_wrong_level")
    await login(client, "hb.auditor")
    assert (await client.get(f"/api/v1/hardship/records/{rec['id']}")).status_code == 404
    await login(client, "xl.admin")
    pending = (await client.get("/api/v1/hardship/records", params={"awaiting_me": True})).json()
    assert rec["id"] in {r["id"] for r in pending["items"]}
    resp = await client.post(f"/api/v1/hardship/records/{rec['id']}/approve", json={})
    assert resp.status_code == 200 and resp.json()["status"] == "approved"
    member = (await client.get(f"/api/v1/members/{member_id}")).json()
    assert "hardship" in member["categories"] and member["hardship_level"] == 2
    # The audit log is read by federation admins and auditors.
    await login(client, "admin")
    audit = await client.get("/api/v1/audit", params={"target_id": rec["id"], "limit": 50})
    actions = [e["action"] for e in audit.json()["items"]]
    assert {"hardship.apply", "hardship.approve"} <= set(actions)


async def test_report_endpoint_and_scope(client: AsyncTestClient, demo: dict) -> None:
    await login(client, "xl.admin")
    orgs = (await client.get("/api/v1/orgs", params={"limit": 200})).json()
    ids = {o["code"]: o["id"] for o in (orgs["items"] if isinstance(orgs, dict) else orgs)}
    doc = (
        await client.get("/api/v1/reports/service-requests", params={"org_id": ids["HB-YC-XL"]})
    ).json()
    assert doc["report"] == "service-requests"
    assert {s["key"] for s in doc["sections"]} == {"per_kind", "per_org"}
    figures = {f["key"]: f["value"] for f in doc["summary"]}
    assert figures["filed"] >= 1  # the demo's requests
    resp = await client.get(
        "/api/v1/reports/service-requests", params={"org_id": ids["HB-YC-XL"], "format": "csv"}
    )
    assert resp.status_code == 200 and "text/csv" in resp.headers["content-type"]
    hardship = (
        await client.get("/api/v1/reports/hardship", params={"org_id": ids["HB-YC-XL"]})
    ).json()
    assert {s["key"] for s in hardship["sections"]} == {"delivered", "records"}
    await login(client, "wjg.admin")
    resp = await client.get("/api/v1/reports/service-requests", params={"org_id": ids["HB-YC-XL"]})
    assert resp.status_code == 404
