"""Injection and markup: search parameters with SQL metacharacters match literally (no error,
no wildcard, no extra rows), and names with markup never reach a page unescaped."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.db import make_sessionmaker
from cardsvc.members.models import Member
from cardsvc.orgs.models import Org
from merchants.models import Merchant
from tests.security.conftest import Caller, Client, member_caller, shop_caller, staff_caller
from tests.support.activities import activity_body

SQL_PAYLOADS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    '"; DROP TABLE member; --',
    "%",
    "_",
    "%%",
    "\\",
    "\\%",
    "' UNION SELECT id_number_enc FROM member --",
    "1; SELECT pg_sleep(0)",
    "[a-z]*",
    "*",
]
FREE_TEXT = {"q", "region", "search", "name", "code", "member_no", "phone", "id_number"}


def text_query_params(app: Litestar) -> list[tuple[str, str]]:
    """(path, parameter) for every GET operation taking a free-text query parameter."""
    spec = app.openapi_schema.to_schema()
    found = []
    for path, item in spec["paths"].items():
        op = item.get("get")
        if not op or "{" in path:
            continue
        for p in op.get("parameters", []):
            schema = p.get("schema", {})
            types = {schema.get("type")} | {s.get("type") for s in schema.get("oneOf", [])}
            if (
                p["in"] == "query"
                and p["name"] in FREE_TEXT
                and "string" in types
                and not schema.get("format")
                and "enum" not in schema
            ):
                found.append((path, p["name"]))
    return found


async def test_sql_metacharacters_in_search_match_literally(
    client: Client, demo: dict[str, Any]
) -> None:
    admin = await staff_caller(client, "admin")
    targets = text_query_params(client.app)
    assert ("/api/v1/members", "name") in targets and ("/api/v1/merchants", "q") in targets
    for path, name in targets:
        none = await client.get(path, params={name: "zzqx-no-such-thing"}, headers=admin.headers())
        if none.status_code == 400 and none.json()["code"] == "identity_lookup_required":
            continue  # by ID number or phone only through the audited look-up (a POST)
        assert none.status_code == 200, (path, name, none.text[:200])
        for payload in SQL_PAYLOADS:
            r = await client.get(path, params={name: payload}, headers=admin.headers())
            assert r.status_code in {200, 400, 422}, (path, name, payload, r.text[:300])
            if r.status_code == 200:
                body = r.json()
                got = body.get("total", len(body.get("items", []))) if isinstance(body, dict) else 0
                # No demo value contains these characters: a match means a wildcard or an
                # injected condition.
                assert got == 0, (path, name, payload, got)


MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'


PAGE_AREAS = ("/console", "/m", "/shop")


def html_pages(app: Litestar) -> list[str]:
    """GET routes that render HTML: declared so, or in a page area (the console and the till
    pages return templates without declaring a media type). Some take path parameters."""
    pages = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler) or "GET" not in handler.http_methods:
                continue
            path = route.path_format
            media = str(getattr(handler.media_type, "value", handler.media_type))
            in_area = any(path == a or path.startswith(a + "/") for a in PAGE_AREAS)
            # (A download in a page area declares its own type: not a page.)
            download = media.startswith(("application/vnd.", "image/", "text/csv"))
            if media.startswith("text/html") or (in_area and not download):
                pages.append(path)
    return sorted(set(pages))


async def _created(client: Client, caller: Caller, url: str, **kw: Any) -> Any:
    r = await client.post(url, headers=caller.headers(), **kw)
    assert r.status_code in {200, 201, 202}, f"{url}: {r.text[:300]}"
    return r.json()


async def test_names_with_markup_are_escaped_on_every_page(
    client: Client, app: Litestar, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    """Markup planted in a member's, a union's and a merchant's name, a service request, a
    hardship record and a roster file: every HTML page (those with path parameters on the
    objects that carry it), as staff, as that member and as a till, shows it as text; JSON
    answers are JSON (with nosniff, never rendered)."""
    card = demo["cards"][0]
    async with make_sessionmaker(engine)() as session, session.begin():
        member_id, org_id = (
            await session.execute(
                update(Member)
                .where(Member.member_no == card["member_no"])
                .values(name=MARKUP)
                .returning(Member.id, Member.org_id)
            )
        ).one()
        await session.execute(update(Org).where(Org.id == org_id).values(name=MARKUP + "工会"))
        # The merchant of the till that signs in below: its pages show the name too.
        merchant_id = demo["terminals"][0]["merchant_id"]
        await session.execute(
            update(Merchant)
            .where(Merchant.id == uuid.UUID(merchant_id))
            .values(display_name=MARKUP, legal_name=MARKUP)
        )
    admin = await staff_caller(client, "admin")
    member = await member_caller(client, app, card["phone"])
    callers: list[Caller] = [admin, member, await shop_caller(client, demo["terminals"][0]["key"])]
    me = await client.get("/api/v1/me", headers=member.headers())
    assert me.json()["member"]["name"] == MARKUP  # the value is stored and served as data
    assert me.headers["content-type"].startswith("application/json")
    assert me.headers["x-content-type-options"] == "nosniff"
    req = await _created(
        client,
        member,
        "/api/v1/me/service-requests",
        json={"kind": "other", "title": MARKUP, "description": MARKUP},
    )
    rec = await _created(
        client,
        admin,
        "/api/v1/hardship/records",
        json={
            "member_id": str(member_id),
            "category": "relative",
            "level": 2,
            "circumstances": MARKUP,
        },
    )
    roster = f"姓名,身份证号,手机号\n{MARKUP},110101199003077777,13800138000\n".encode()
    job = await _created(
        client,
        admin,
        "/api/v1/roster/imports",
        params={"org_id": str(org_id), "dry_run": "true"},
        files={"file": ("roster.csv", roster, "text/csv")},
    )
    programs = await client.get("/api/v1/programs", headers=admin.headers())
    officer = await _created(
        client,
        admin,
        "/api/v1/staff/users",
        json={
            "username": "markup.officer",
            "display_name": MARKUP,
            "password": "a-long-password-1",
            "grants": [{"role": "auditor", "org_id": str(org_id)}],
        },
    )
    invite = await _created(client, admin, f"/api/v1/orgs/{org_id}/invites", json={"label": MARKUP})
    founding = await _created(
        client,
        member,
        "/api/v1/me/founding-applications",
        json={
            "kind": "found",
            "applicant_type": "employer",
            "contact_name": "陈建华",
            "enterprise_name": MARKUP,
            "credit_code": "91350100M000100Y43",
            "address": MARKUP,
            "region_code": "420502",
            "headcount": 30,
            "union_name": MARKUP,
            "founders": [{"name": "陈建华", "phone": "13971000001", "role": MARKUP[:32]}],
        },
    )
    activity = await _created(
        client,
        admin,
        "/api/v1/activities",
        json=activity_body(str(org_id), title=MARKUP, description=MARKUP, place=MARKUP),
    )
    await _created(client, member, f"/api/v1/me/activities/{activity['id']}/signup")
    # Path parameter → the object that carries the markup (or, for programmes, any).
    values = {
        "member_id": str(member_id),
        "org_id": str(org_id),
        "merchant_id": str(merchant_id),
        "store_id": demo["terminals"][0]["store_id"],
        "request_id": req["request"]["id"],
        "record_id": rec["id"],
        "import_id": job["id"],
        "program_id": programs.json()["items"][0]["id"],
        "invite_id": invite["id"],
        "founding_id": founding["id"],
        "activity_id": activity["id"],
        "staff_id": officer["id"],
        "month": "2026-11",
        "key": "privacy",
        "kind": "org",
        "path": "swagger",
    }
    pages = html_pages(app)
    assert "/schema" in pages and "/console/members/{member_id}" in pages
    checked: set[str] = set()
    for page in pages:
        url = page
        for name in re.findall(r"\{(\w+)(?::\w+)?\}", page):
            assert name in values, f"{page}: no object to show for {{{name}}}"
            url = url.replace("{" + name + "}", values[name])
        for caller in callers:
            # Not following redirects: another area's sign-in page is not the page.
            r = await client.get(
                url, headers=caller.headers(mutation=False), follow_redirects=False
            )
            if r.status_code != 200 or not r.headers["content-type"].startswith("text/html"):
                continue
            checked.add(page)
            assert MARKUP not in r.text and "<script>alert" not in r.text, page
            assert "<function" not in html.unescape(r.text), f"{page}: a Python repr"
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", r.text), (
                f"{page}: inline script"
            )
    # Every page with a path parameter was really shown to someone.
    assert {p for p in pages if "{" in p and p.startswith(PAGE_AREAS)} - checked == set()
    assert {"/schema", "/console", "/shop", "/m/card"} <= checked
