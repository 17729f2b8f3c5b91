"""Object-level access sweep: every endpoint that takes an object id, called by someone who may
use the endpoint but not that object (staff of another org subtree, another member, another
merchant's terminal), answers 404 — never the object, never a change to it.

The routes come from the app itself: a new route with an ``{…id}`` path parameter fails
``test_every_id_route_is_swept`` until it is added to ``SWEEP``.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.public import create_program, publish_program
from benefits.vouchers.models import Voucher, VoucherStatus
from cardsvc.demo.seed import DEMO_PASSWORD
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.permissions import Role
from cardsvc.kernel.principal import SYSTEM
from cardsvc.orgs.models import Org
from cardsvc.staff.service import create_staff
from tests.cardsvc.servicereq.test_api import png
from tests.security.conftest import (
    Caller,
    Client,
    member_caller,
    shop_caller,
    staff_caller,
    terminal_caller,
)
from tests.support.activities import activity_body
from tests.support.pos import Pos, pos_fixture  # noqa: F401 (fixture)

ID_PARAM = re.compile(r"\{(\w*id)\}")

# "METHOD /path" → who calls it: staff of another subtree, another member, another terminal.
SWEEP: dict[str, str] = {
    "GET /api/v1/orgs/{org_id}": "staff",
    "PATCH /api/v1/orgs/{org_id}": "staff",
    "POST /api/v1/orgs/{org_id}/close": "staff",
    "GET /api/v1/orgs/{org_id}/invites": "staff",
    "POST /api/v1/orgs/{org_id}/invites": "staff",
    "GET /api/v1/members/{member_id}": "staff",
    "PATCH /api/v1/members/{member_id}": "staff",
    "POST /api/v1/members/{member_id}/identity": "staff",
    "POST /api/v1/members/{member_id}/status": "staff",
    "GET /api/v1/members/{member_id}/history": "staff",
    "GET /api/v1/members/{member_id}/cards": "staff",
    "POST /api/v1/members/{member_id}/cards": "staff",
    "POST /api/v1/members/{member_id}/cards/reissue": "staff",
    "POST /api/v1/members/{member_id}/cards/{card_id}/printable": "staff",
    "GET /api/v1/settlement-statements/{month}/{merchant_id}": "staff",
    "POST /api/v1/settlement-statements/{month}/{merchant_id}/confirm": "staff",
    "POST /api/v1/settlement-statements/{month}/{merchant_id}/payment": "staff",
    "GET /console/invites/{invite_id}/poster": "staff",
    "POST /console/invites/{invite_id}/revoke": "staff",
    "GET /console/members/{member_id}/edit": "staff",
    "POST /console/members/{member_id}/edit": "staff",
    "POST /console/members/{member_id}/cards/{card_id}/printable": "staff",
    "POST /console/members/{member_id}/reissue": "staff",
    "POST /console/members/{member_id}/status": "staff",
    "POST /console/requests/transfers/{transfer_id}/approve": "staff",
    "POST /console/requests/transfers/{transfer_id}/reject": "staff",
    "POST /console/settlements/{month}/{merchant_id}/confirm": "staff",
    "POST /console/settlements/{month}/{merchant_id}/payment": "staff",
    "POST /api/v1/members/{member_id}/cards/{card_id}/resume": "staff",
    "POST /api/v1/members/{member_id}/cards/{card_id}/revoke": "staff",
    "POST /api/v1/members/{member_id}/cards/{card_id}/static-token": "staff",
    "POST /api/v1/members/{member_id}/cards/{card_id}/suspend": "staff",
    "GET /api/v1/roster/imports/{import_id}": "staff",
    "POST /api/v1/roster/imports/{import_id}/apply": "staff",
    "POST /api/v1/roster/imports/{import_id}/cancel": "staff",
    "GET /api/v1/roster/imports/{import_id}/errors": "staff",
    "GET /api/v1/roster/imports/{import_id}/errors.csv": "staff",
    "GET /api/v1/roster/imports/{import_id}/errors.xlsx": "staff",
    "GET /api/v1/roster/imports/{import_id}/events": "staff",
    "GET /api/v1/approvals/applications/{app_id}": "staff",
    "POST /api/v1/approvals/applications/{app_id}/approve": "staff",
    "POST /api/v1/approvals/applications/{app_id}/reject": "staff",
    "POST /api/v1/approvals/transfers/{transfer_id}/approve": "staff",
    "POST /api/v1/approvals/transfers/{transfer_id}/reject": "staff",
    "GET /api/v1/invites/{invite_id}/qr.png": "staff",
    "POST /api/v1/invites/{invite_id}/revoke": "staff",
    "GET /api/v1/merchants/{merchant_id}": "staff",
    "PATCH /api/v1/merchants/{merchant_id}": "staff",
    "POST /api/v1/merchants/{merchant_id}/resume": "staff",
    "POST /api/v1/merchants/{merchant_id}/suspend": "staff",
    "POST /api/v1/merchants/{merchant_id}/terminate": "staff",
    "GET /api/v1/merchants/{merchant_id}/stores": "staff",
    "POST /api/v1/merchants/{merchant_id}/stores": "staff",
    "GET /api/v1/merchants/{merchant_id}/redemptions": "staff",
    "GET /api/v1/merchants/{merchant_id}/voucher-redemptions": "staff",
    "GET /api/v1/stores/{store_id}/terminals": "staff",
    "POST /api/v1/stores/{store_id}/terminals": "staff",
    "GET /api/v1/terminals/{terminal_id}": "staff",
    "POST /api/v1/terminals/{terminal_id}/keys/rotate": "staff",
    "POST /api/v1/terminals/{terminal_id}/keys/{key_id}/revoke": "staff",
    "GET /api/v1/programs/{program_id}": "staff",
    "PATCH /api/v1/programs/{program_id}": "staff",
    "POST /api/v1/programs/{program_id}/end": "staff",
    "POST /api/v1/programs/{program_id}/pause": "staff",
    "POST /api/v1/programs/{program_id}/publish": "staff",
    "POST /api/v1/programs/{program_id}/resume": "staff",
    "GET /api/v1/programs/{program_id}/versions": "staff",
    "GET /api/v1/programs/{program_id}/versions/{number}": "staff",
    "GET /api/v1/voucher-campaigns/{campaign_id}": "staff",
    "GET /api/v1/voucher-campaigns/{campaign_id}/figures": "staff",
    "POST /api/v1/voucher-campaigns/{campaign_id}/publish": "staff",
    "POST /api/v1/voucher-campaigns/{campaign_id}/end": "staff",
    "POST /api/v1/voucher-campaigns/{campaign_id}/reconcile": "staff",
    "POST /api/v1/voucher-campaigns/{campaign_id}/draw": "staff",
    "GET /api/v1/voucher-campaigns/{campaign_id}/draw": "staff",
    "POST /api/v1/me/vouchers/campaigns/{campaign_id}/claim": "member",
    "POST /api/v1/me/vouchers/campaigns/{campaign_id}/apply": "member",
    "GET /api/v1/me/vouchers/campaigns/{campaign_id}/draw": "member",
    "POST /api/v1/me/applications/{app_id}/withdraw": "member",
    "POST /api/v1/redemptions/{redemption_id}/reversal": "terminal",
    "POST /api/v1/voucher-redemptions/{use_id}/reversal": "terminal",
    # Privacy: a member's export and erasure.
    "GET /api/v1/members/{member_id}/personal-data": "staff",
    "POST /api/v1/members/{member_id}/erasure": "staff",
    # Service requests, their attachments and service-level times; hardship records.
    "GET /api/v1/service-requests/{request_id}": "staff",
    "POST /api/v1/service-requests/{request_id}/accept": "staff",
    "POST /api/v1/service-requests/{request_id}/attachments": "staff",
    "GET /api/v1/service-requests/{request_id}/attachments/{attachment_id}": "staff",
    "POST /api/v1/service-requests/{request_id}/handling": "staff",
    "POST /api/v1/service-requests/{request_id}/reject": "staff",
    "POST /api/v1/service-requests/{request_id}/reopen": "staff",
    "POST /api/v1/service-requests/{request_id}/request-info": "staff",
    "POST /api/v1/service-requests/{request_id}/resolve": "staff",
    "POST /api/v1/service-requests/{request_id}/take-over": "staff",
    "GET /api/v1/orgs/{org_id}/service-levels": "staff",
    "PUT /api/v1/orgs/{org_id}/service-levels/{kind}": "staff",
    "DELETE /api/v1/orgs/{org_id}/service-levels/{kind}": "staff",
    "GET /api/v1/hardship/records/{record_id}": "staff",
    "POST /api/v1/hardship/records/{record_id}/approve": "staff",
    "POST /api/v1/hardship/records/{record_id}/reject": "staff",
    "POST /api/v1/hardship/records/{record_id}/review": "staff",
    "POST /api/v1/hardship/records/{record_id}/revoke": "staff",
    "GET /api/v1/me/service-requests/{request_id}": "member",
    "POST /api/v1/me/service-requests/{request_id}/attachments": "member",
    "GET /api/v1/me/service-requests/{request_id}/attachments/{attachment_id}": "member",
    "POST /api/v1/me/service-requests/{request_id}/rating": "member",
    "POST /api/v1/me/service-requests/{request_id}/reply": "member",
    "POST /api/v1/me/service-requests/{request_id}/withdraw": "member",
    # Founding applications: reviewed by the district (staff), followed by the applicant.
    "GET /api/v1/founding/applications/{founding_id}": "staff",
    "POST /api/v1/founding/applications/{founding_id}/approve": "staff",
    "POST /api/v1/founding/applications/{founding_id}/refuse": "staff",
    "POST /api/v1/founding/applications/{founding_id}/request-info": "staff",
    "GET /api/v1/founding/applications/{founding_id}/documents/{document_id}": "staff",
    "GET /api/v1/me/founding-applications/{founding_id}": "member",
    "POST /api/v1/me/founding-applications/{founding_id}/resubmit": "member",
    "POST /api/v1/me/founding-applications/{founding_id}/documents": "member",
    "GET /api/v1/me/founding-applications/{founding_id}/documents/{document_id}": "member",
    "GET /api/v1/activities/{activity_id}": "staff",
    "GET /api/v1/activities/{activity_id}/signups": "staff",
    "GET /api/v1/activities/{activity_id}/signups/export": "staff",
    "POST /api/v1/activities/{activity_id}/check-ins": "staff",
    "POST /api/v1/activities/{activity_id}/signups/{signup_id}/completion": "staff",
    "GET /api/v1/me/activities/{activity_id}": "member",
    "POST /api/v1/me/activities/{activity_id}/signup": "member",
    "POST /api/v1/me/activities/{activity_id}/cancel": "member",
    "GET /api/v1/me/activities/{activity_id}/certificate": "member",
    # The staff console: the same staff cookie, HTML answers.
    "GET /console/activities/{activity_id}": "staff",
    "GET /console/activities/{activity_id}/checkin": "staff",
    "POST /console/activities/{activity_id}/checkin": "staff",
    "POST /console/activities/{activity_id}/signups/{signup_id}/completion": "staff",
    "POST /console/approvals/{app_id}/approve": "staff",
    "POST /console/approvals/{app_id}/reject": "staff",
    "GET /console/hardship/{record_id}": "staff",
    "POST /console/hardship/{record_id}/{action}": "staff",
    "GET /console/founding/{founding_id}": "staff",
    "POST /console/founding/{founding_id}/{action}": "staff",
    "GET /console/members/{member_id}": "staff",
    "POST /console/members/{member_id}/identity": "staff",
    "GET /console/merchants/{merchant_id}": "staff",
    "POST /console/merchants/{merchant_id}/status/{action}": "staff",
    "POST /console/merchants/{merchant_id}/stores": "staff",
    "GET /console/orgs/{org_id}": "staff",
    "GET /console/programmes/{program_id}": "staff",
    "POST /console/programmes/{program_id}": "staff",
    "POST /console/programmes/{program_id}/publish": "staff",
    "POST /console/programmes/{program_id}/simulate": "staff",
    "POST /console/programmes/{program_id}/diff": "staff",
    "POST /console/programmes/{program_id}/{action}": "staff",
    "GET /console/roster/{import_id}": "staff",
    "POST /console/roster/{import_id}/apply": "staff",
    "GET /console/roster/{import_id}/progress": "staff",
    "GET /console/service/{request_id}": "staff",
    "POST /console/service/{request_id}/{action}": "staff",
    "POST /console/stores/{store_id}/terminals": "staff",
    "POST /console/stores/{store_id}/terminals/{terminal_id}/keys/{key_id}/revoke": "staff",
    "POST /console/stores/{store_id}/terminals/{terminal_id}/rotate": "staff",
    "POST /console/stores/{store_id}/terminals/{terminal_id}/{action}": "staff",
    "POST /console/merchants/{merchant_id}/stores/{store_id}/edit": "staff",
    "POST /console/merchants/{merchant_id}/stores/{store_id}/close": "staff",
    "POST /console/merchants/{merchant_id}/stores/{store_id}/listing": "staff",
    "POST /console/merchants/{merchant_id}/stores/import": "staff",
    "POST /console/merchants/{merchant_id}/stores/{store_id}/photos": "staff",
    "POST /console/merchants/{merchant_id}/stores/{store_id}/photos/{photo_id}/delete": "staff",
    "POST /console/merchants/{merchant_id}/stores/{store_id}/photos/{photo_id}/first": "staff",
    "POST /console/orgs/{org_id}/edit": "staff",
    "POST /console/orgs/{org_id}/children": "staff",
    "POST /console/orgs/{org_id}/close": "staff",
    "GET /console/orgs/{org_id}/service-levels": "staff",
    "POST /console/orgs/{org_id}/service-levels/{kind}": "staff",
    "POST /console/orgs/{org_id}/service-levels/{kind}/clear": "staff",
    "GET /console/staff/{staff_id}": "staff",
    "POST /console/staff/{staff_id}/{action}": "staff",
    # Staff accounts; stores and terminals (status).
    "POST /api/v1/staff/users/{staff_id}/disable": "staff",
    "POST /api/v1/staff/users/{staff_id}/enable": "staff",
    "POST /api/v1/staff/users/{staff_id}/password": "staff",
    "POST /api/v1/staff/users/{staff_id}/grants": "staff",
    "POST /api/v1/staff/users/{staff_id}/grants/revoke": "staff",
    "PATCH /api/v1/stores/{store_id}": "staff",
    "PATCH /api/v1/stores/{store_id}/listing": "staff",
    "POST /api/v1/stores/{store_id}/photos": "staff",
    "DELETE /api/v1/stores/{store_id}/photos/{photo_id}": "staff",
    "POST /api/v1/merchants/{merchant_id}/stores/import": "staff",
    "POST /api/v1/stores/{store_id}/close": "staff",
    "POST /api/v1/terminals/{terminal_id}/disable": "staff",
    "POST /api/v1/terminals/{terminal_id}/enable": "staff",
    # Member pages (/m/): the same member cookie.
    "GET /m/activities/{activity_id}": "member",
    "POST /m/activities/{activity_id}/signup": "member",
    "POST /m/activities/{activity_id}/cancel": "member",
    "POST /m/applications/{app_id}/withdraw": "member",
    "GET /m/requests/{request_id}": "member",
    "POST /m/requests/{request_id}/photos": "member",
    "POST /m/requests/{request_id}/rating": "member",
    "POST /m/requests/{request_id}/reply": "member",
    "POST /m/requests/{request_id}/withdraw": "member",
    "POST /m/vouchers/{campaign_id}/claim": "member",
    "POST /m/vouchers/{campaign_id}/apply": "member",
    "GET /m/found/{founding_id}": "member",
    "POST /m/found/{founding_id}/documents": "member",
    "POST /m/found/{founding_id}/resubmit": "member",
    # Till pages (/shop/): another merchant's till, signed in to the pages with its key.
    "POST /shop/redemptions/{redemption_id}/void": "shop",
    "POST /shop/voucher-uses/{use_id}/void": "shop",
}

# Objects everyone may see by design: an open store in the directory and its photos (a closed
# one answers 404: tests/merchants/directory).
PUBLIC = {
    "GET /api/v1/stores/{store_id}/public",
    "GET /api/v1/stores/{store_id}/photos/{photo_id}",
    "GET /m/stores/{store_id}",
}

PAGE_AREAS = ("/console/", "/m/", "/shop/")
# Path parameters that name no object: a valid value, so that the handler gets to the lookup.
FIXED = {
    "/console/hardship/": {"action": "approve"},
    "/console/service/": {"action": "accept"},
    "/console/founding/": {"action": "approve"},
    "/console/merchants/": {"action": "suspend"},
    "/console/programmes/": {"action": "pause"},
    "/api/v1/orgs/": {"kind": "legal_aid"},
    "/console/orgs/": {"kind": "legal_aid"},
    "/console/staff/": {"action": "disable"},
    "/console/stores/": {"action": "disable"},
    "/api/v1/settlement-statements/": {"month": "2026-11"},
    "/console/settlements/": {"month": "2026-11"},
}


def id_routes(app: Litestar) -> set[str]:
    found: set[str] = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler) or not ID_PARAM.search(route.path_format):
                continue
            for method in handler.http_methods - {"OPTIONS", "HEAD"}:
                found.add(f"{method} {route.path_format}")
    return found


def test_every_id_route_is_swept(app: Litestar) -> None:
    routes = id_routes(app) - PUBLIC
    assert routes - SWEEP.keys() == set(), "id routes missing from the access sweep"
    assert SWEEP.keys() - routes == set(), "SWEEP lists routes that no longer exist"


# --- the other tenant's objects --------------------------------------------------------------


async def _org(engine: AsyncEngine, code: str) -> Org:
    async with make_sessionmaker(engine)() as session:
        org = await session.scalar(select(Org).where(Org.code == code))
        assert org is not None
        return org


async def _json(client: Client, caller: Caller, url: str, **params: Any) -> Any:
    r = await client.get(url, headers=caller.headers(mutation=False), params=params)
    assert r.status_code == 200, f"{url}: {r.text[:300]}"
    return r.json()


async def _post(client: Client, caller: Caller, url: str, **kw: Any) -> Any:
    r = await client.post(url, headers=caller.headers(), **kw)
    assert r.status_code in {200, 201, 202}, f"{url}: {r.text[:300]}"
    return r.json()


async def foreign_objects(
    client: Client, app: Litestar, engine: AsyncEngine, pos: Pos, demo: dict[str, Any]
) -> dict[str, Any]:
    """Objects of the 西陵区 (XL) subtree, made or found as the federation admin, plus a
    redemption of one merchant and an application of one phone."""
    admin = await staff_caller(client, "admin")
    xl, yc = await _org(engine, "HB-YC-XL"), await _org(engine, "HB-YC")
    ids: dict[str, Any] = {"org_id": [str(xl.id), str(yc.id)]}
    phones = {c["member_no"]: c["phone"] for c in demo["cards"] if c["phone"]}
    members = (await _json(client, admin, "/api/v1/members", org_id=str(xl.id), limit=200))["items"]
    member = next(m for m in members if m["member_no"] in phones and m["status"] == "active")
    ids["member_id"] = [member["id"]]
    ids["member_no"] = member["member_no"]
    cards = await _json(client, admin, f"/api/v1/members/{member['id']}/cards")
    if not cards["cards"]:
        await _post(client, admin, f"/api/v1/members/{member['id']}/cards", json={})
        cards = await _json(client, admin, f"/api/v1/members/{member['id']}/cards")
    ids["card_id"] = [cards["cards"][0]["id"]]
    apps = await _json(client, admin, "/api/v1/approvals/applications", org_id=str(xl.id))
    ids["app_id"] = [apps["items"][0]["id"]]
    union = await _org(engine, "XL-JIDIAN")  # members join grassroots unions
    invite = await _post(client, admin, f"/api/v1/orgs/{union.id}/invites", json={"label": "x"})
    ids["invite_id"] = [invite["id"]]
    roster = "姓名,身份证号,手机号\n张三,110101199003077777,13800138000\n".encode()
    job = await _post(
        client,
        admin,
        "/api/v1/roster/imports",
        params={"org_id": str(union.id), "dry_run": "true"},
        files={"file": ("roster.csv", roster, "text/csv")},
    )
    ids["import_id"] = [job["id"]]
    merchants = (await _json(client, admin, "/api/v1/merchants", org_id=str(xl.id)))["items"]
    ids["merchant_id"] = [merchants[0]["id"]]
    stores = await _json(client, admin, f"/api/v1/merchants/{merchants[0]['id']}/stores")
    ids["store_id"] = [stores["items"][0]["id"] if "items" in stores else stores[0]["id"]]
    photo = await _post(
        client,
        admin,
        f"/api/v1/stores/{ids['store_id'][0]}/photos",
        files={"file": ("store.png", png(), "image/png")},
    )
    ids["photo_id"] = [photo["id"]]
    xl_terminal = next(t for t in demo["terminals"] if t["merchant_id"] == merchants[0]["id"])
    ids["terminal_id"] = [xl_terminal["terminal_id"]]
    detail = await _json(client, admin, f"/api/v1/terminals/{xl_terminal['terminal_id']}")
    ids["key_id"] = [detail["keys"][0]["id"]]
    users = await _json(client, admin, "/api/v1/staff/users")
    ids["staff_id"] = [next(u["id"] for u in users if u["username"] == "xl.jidian")]
    async with engine.connect() as conn:
        prog = await create_program(
            conn,
            code="XL-SWEEP",
            owner_org_id=xl.id,
            owner_org_path=xl.path,
            rules={
                "name": "西陵区测试项目",
                "benefit": {"kind": "percent_off", "basis_points": 1000},
                "scope": {"merchant_categories": ["dining"]},
                "limits": [],
            },
        )
        prog = await publish_program(conn, program_id=prog.id)
    ids["program_id"] = [str(prog.id)]
    # A draft voucher campaign of XL: no member may claim it yet, no WJG staff may see it.
    opens = datetime.now(ZoneInfo("UTC"))
    campaign = await _post(
        client,
        admin,
        "/api/v1/voucher-campaigns",
        json={
            "code": "XL-SWEEP-V",
            "name": "西陵区测试消费券",
            "owner_org_id": str(xl.id),
            "stock": 10,
            "opens_at": opens.isoformat(),
            "closes_at": opens.replace(year=opens.year + 1).isoformat(),
            "terms": {"value": {"kind": "amount_off", "off_fen": 500}, "valid_days": 3},
        },
    )
    ids["campaign_id"] = [campaign["id"]]
    ids["number"] = ["1"]
    # A redemption at 老街面馆's till (the root programme applies to every member).
    dining = await pos.program("SWEEP10")
    r = await client.post(
        "/api/v1/redemptions",
        json={
            "code": await pos.code(pos.member()),
            "program_id": str(dining.id),
            "amount_fen": 5000,
        },
        headers=pos.headers(pos.terminal("dining"), uuid.uuid4().hex),
    )
    assert r.status_code == 201, r.text
    ids["redemption_id"] = [r.json()["id"]]
    # A voucher of that campaign (the row as a claim writes it) used at 老街面馆's till.
    holder = pos.member()
    voucher_id = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            insert(Voucher).values(
                id=voucher_id,
                campaign_id=uuid.UUID(campaign["id"]),
                member_id=holder,
                slot=0,
                nth=0,
                request_key="sweep-voucher",
                status=VoucherStatus.active,
                claimed_at=opens,
                expires_at=opens + timedelta(days=3),
            )
        )
    r = await client.post(
        "/api/v1/voucher-redemptions",
        json={"code": await pos.code(holder), "voucher_id": str(voucher_id), "amount_fen": 5000},
        headers=pos.headers(pos.terminal("dining"), uuid.uuid4().hex),
    )
    assert r.status_code == 201, r.text
    ids["use_id"] = [r.json()["id"]]
    # An application of one phone, to be withdrawn by another.
    ids["member_app_id"] = []
    for a in (await _json(client, admin, "/api/v1/approvals/applications"))["items"]:
        ids["member_app_id"].append(a["id"])
    # The XL member's service request with a photo, and a hardship record for them.
    mover = await member_caller(client, app, phones[member["member_no"]])
    req = await _post(
        client,
        mover,
        "/api/v1/me/service-requests",
        json={"kind": "legal_aid", "title": "工资拖欠", "description": "三个月未发工资"},
    )
    req = req["request"]
    ids["request_id"] = [req["id"]]
    att = await _post(
        client,
        mover,
        f"/api/v1/me/service-requests/{req['id']}/attachments",
        files={"file": ("photo.png", png(), "image/png")},
    )
    ids["attachment_id"] = [att["id"]]
    rec = await _post(
        client,
        admin,
        "/api/v1/hardship/records",
        json={
            "member_id": member["id"],
            "category": "relative",
            "level": 2,
            "circumstances": "家人重病",
        },
    )
    ids["record_id"] = [rec["id"]]
    # A founding application in 西陵区 by that member's phone, with a document.
    founding = await _post(
        client,
        mover,
        "/api/v1/me/founding-applications",
        json={
            "kind": "found",
            "applicant_type": "employer",
            "contact_name": "陈建华",
            "enterprise_name": "宜昌访问测试有限公司",
            "credit_code": "91350100M000100Y43",
            "address": "宜昌市西陵区东湖大道 1 号",
            "region_code": "420502",
            "headcount": 30,
            "union_name": "宜昌访问测试有限公司工会",
            "founders": [{"name": "陈建华", "phone": "13971000001"}],
        },
    )
    ids["founding_id"] = [founding["id"]]
    doc = await _post(
        client,
        mover,
        f"/api/v1/me/founding-applications/{founding['id']}/documents",
        files={"file": ("licence.png", png(), "image/png")},
    )
    ids["document_id"] = [doc["id"]]
    # The XL member's transfer to another XL union (not visible to 伍家岗区 either).
    other_union = await _org(engine, "XL-JIDIAN")
    if member["org_id"] == str(other_union.id):
        other_union = await _org(engine, "XL-HOSPITAL")
    t = await _post(client, mover, "/api/v1/me/transfers", json={"to_org_id": str(other_union.id)})
    ids["transfer_id"] = [t["id"]]
    # An activity of the XL member's own union, which they signed up for.
    activity = await _post(
        client, admin, "/api/v1/activities", json=activity_body(member["org_id"], capacity=3)
    )
    ids["activity_id"] = [activity["id"]]
    signup = await _post(client, mover, f"/api/v1/me/activities/{activity['id']}/signup")
    ids["signup_id"] = [signup["id"]]
    return ids


def _bodies(schema: Any, method: str, path: str, n: int = 25) -> list[Any]:
    """Schema-valid bodies for ``method path`` (the first one Litestar accepts is used)."""
    op = schema[path][method]
    if op.body is None or not len(op.body):
        return [None]
    found: list[Any] = []

    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(op.as_strategy())
    def collect(case: Any) -> None:
        found.append(case.body)

    collect()
    return [{}, *found]


@pytest.fixture
async def wjg_admin(engine: AsyncEngine, demo: dict[str, Any]) -> str:
    """Every permission, on the 伍家岗区 (WJG) subtree only."""
    async with make_sessionmaker(engine)() as session, session.begin():
        org = await session.scalar(select(Org).where(Org.code == "HB-YC-WJG"))
        assert org is not None
        await create_staff(
            session,
            SYSTEM,
            username="wjg.all",
            display_name="伍家岗区全权管理员",
            password=DEMO_PASSWORD,
            grants=[(Role.federation_admin, org.id)],
        )
    return "wjg.all"


async def test_other_tenants_objects_answer_404(
    client: Client,
    app: Litestar,
    engine: AsyncEngine,
    pos: Pos,
    demo: dict[str, Any],
    wjg_admin: str,
) -> None:
    ids = await foreign_objects(client, app, engine, pos, demo)
    phones = {c["member_no"]: c["phone"] for c in demo["cards"] if c["phone"]}
    member_no = ids["member_no"]
    callers = {
        "staff": await staff_caller(client, wjg_admin),
        # A phone that is no applicant: someone else's application.
        "member": await member_caller(
            client, app, next(p for n, p in phones.items() if n != member_no)
        ),
        # Another merchant's till (惠民超市) reversing 老街面馆's redemption.
        "terminal": terminal_caller(pos.terminal("retail")),
        # The same till signed in to the till pages.
        "shop": await shop_caller(client, pos.terminal("retail")["key"]),
    }
    # The caller's own parent object with the other tenant's child: the child must still be
    # looked up under its parent (a WJG member with an XL card, a WJG till with an XL key, a
    # request of one's own with the XL request's attachment).
    own_member = (await _json(client, callers["staff"], "/api/v1/members", limit=1))["items"][0]
    staff_req = await _post(
        client,
        callers["staff"],
        "/api/v1/service-requests",
        json={"member_id": own_member["id"], "kind": "other", "title": "咨询", "description": "x"},
    )
    member_req = await _post(
        client,
        callers["member"],
        "/api/v1/me/service-requests",
        json={"kind": "other", "title": "咨询", "description": "x"},
    )
    own: dict[str, dict[str, str]] = {
        "staff": {
            "member_id": own_member["id"],
            "terminal_id": next(t for t in demo["terminals"] if t["category"] == "fitness")[
                "terminal_id"
            ],
            "request_id": staff_req["request"]["id"],
        },
        "member": {"request_id": member_req["request"]["id"]},
    }
    schema = schemathesis.openapi.from_dict(app.openapi_schema.to_schema())
    leaks: list[str] = []
    swept = 0
    for key, kind in sorted(SWEEP.items()):
        method, path = key.split(" ", 1)
        params = re.findall(r"\{(\w+)\}", path)
        urls = []
        page = path.startswith(PAGE_AREAS)
        fixed = next((v for k, v in FIXED.items() if path.startswith(k)), {})
        for mixed in (False, True):
            # (Only where the second parameter is an object too, not an action or kind.)
            if mixed and not (
                len(params) == 2 and params[0] in own.get(kind, {}) and params[1] not in fixed
            ):
                continue
            url = path
            for i, name in enumerate(params):
                if name in fixed:
                    url = url.replace("{" + name + "}", fixed[name])
                    continue
                pool = ids["member_app_id"] if kind == "member" and name == "app_id" else ids[name]
                value = own[kind][name] if mixed and i == 0 else pool[0]
                url = url.replace("{" + name + "}", value)
            urls.append(url)
        for url in urls:
            statuses = []
            bodies = [None] if method == "GET" or page else _bodies(schema, method.lower(), path)
            for body in bodies:
                headers = callers[kind].headers()
                if kind == "terminal":
                    headers["idempotency-key"] = uuid.uuid4().hex
                kw: dict[str, Any] = {"json": body} if body is not None else {}
                if kind == "shop":  # the till's form: a fresh idempotency key per void
                    kw = {"data": {"idem": uuid.uuid4().hex}}
                r = await client.request(method, url, headers=headers, **kw)
                statuses.append(r.status_code)
                if r.status_code not in {400, 422}:  # past request validation: the real answer
                    break
            swept += 1
            if statuses[-1] != 404:
                leaks.append(f"{method} {url} as {kind}: {statuses} {r.text[:200]}")
            elif page:  # pages show the problem as an error page
                if not r.headers["content-type"].startswith("text/html") or (
                    "not_found" not in r.text
                ):
                    leaks.append(f"{method} {url}: 404 that is no error page")
            elif not r.headers["content-type"].startswith("application/problem+json"):
                leaks.append(f"{method} {url}: 404 that is not problem details")
    assert not leaks, "\n".join(leaks)
    assert swept >= len(SWEEP) + 8  # the mixed parent/child pairs were tried too


async def test_org_filters_of_another_subtree_answer_404(
    client: Client, app: Litestar, engine: AsyncEngine, demo: dict[str, Any], wjg_admin: str
) -> None:
    """Every list, report and export that takes ``org_id`` refuses an org outside the caller's
    subtrees (404), rather than answering for it or silently widening the scope."""
    spec = app.openapi_schema.to_schema()
    xl = await _org(engine, "HB-YC-XL")
    staff = await staff_caller(client, wjg_admin)
    tried = []
    for path, item in spec["paths"].items():
        op = item.get("get")
        if (
            "{" in path
            or not op
            or path.startswith("/api/v1/me")
            or path.startswith("/api/v1/join")
        ):
            continue
        if not any(p["name"] == "org_id" and p["in"] == "query" for p in op.get("parameters", [])):
            continue
        r = await client.get(path, params={"org_id": str(xl.id)}, headers=staff.headers())
        tried.append(path)
        assert r.status_code == 404, (path, r.status_code, r.text[:200])
    assert len(tried) >= 8, tried


async def test_a_terminal_lists_only_its_merchants_redemptions(
    client: Client, pos: Pos, demo: dict[str, Any]
) -> None:
    dining = await pos.program("OWN10")
    r = await client.post(
        "/api/v1/redemptions",
        json={
            "code": await pos.code(pos.member()),
            "program_id": str(dining.id),
            "amount_fen": 800,
        },
        headers=pos.headers(pos.terminal("dining"), uuid.uuid4().hex),
    )
    assert r.status_code == 201, r.text
    theirs = r.json()["id"]
    own = await client.get("/api/v1/redemptions", headers=pos.headers(pos.terminal("dining")))
    assert theirs in {x["id"] for x in own.json()["items"]}  # the listing does show it …
    other = await client.get("/api/v1/redemptions", headers=pos.headers(pos.terminal("retail")))
    assert other.status_code == 200
    assert theirs not in {x["id"] for x in other.json()["items"]}  # … to its own merchant only
    occurred = datetime.fromisoformat(r.json()["occurred_at"].replace("Z", "+00:00"))
    month = occurred.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")  # federation zone
    mine = await client.get(f"/api/v1/settlements/{month}", headers=pos.headers(pos.terminal()))
    assert mine.status_code == 200 and str(dining.id) in mine.text
    s = await client.get(
        f"/api/v1/settlements/{month}", headers=pos.headers(pos.terminal("retail"))
    )
    assert s.status_code == 200 and str(dining.id) not in s.text
