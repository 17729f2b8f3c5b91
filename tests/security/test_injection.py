"""Injection and markup: search parameters with SQL metacharacters match literally (no error,
no wildcard, no extra rows), and names with markup never reach a page unescaped."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.db import make_sessionmaker
from cardsvc.members.models import Member
from cardsvc.orgs.models import Org
from tests.security.conftest import Caller, Client, member_caller, staff_caller

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
    targets = text_query_params(client.app)  # type: ignore[attr-defined]
    assert ("/api/v1/members", "name") in targets and ("/api/v1/merchants", "q") in targets
    for path, name in targets:
        none = await client.get(path, params={name: "zzqx-no-such-thing"}, headers=admin.headers())
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


def html_pages(app: Litestar) -> list[str]:
    """GET routes that render HTML and need no path parameter."""
    pages = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if (
                isinstance(handler, HTTPRouteHandler)
                and "GET" in handler.http_methods
                and str(getattr(handler.media_type, "value", handler.media_type)).startswith(
                    "text/html"
                )
                and "{" not in route.path_format
            ):
                pages.append(route.path_format)
    return sorted(set(pages))


async def test_names_with_markup_are_escaped_on_every_page(
    client: Client, app: Litestar, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    """Markup planted in a member's and a union's name: every HTML page, as staff and as that
    member, shows it as text; JSON answers are JSON (with nosniff, never rendered)."""
    card = demo["cards"][0]
    async with make_sessionmaker(engine)() as session, session.begin():
        member_id = (
            await session.execute(
                update(Member)
                .where(Member.member_no == card["member_no"])
                .values(name=MARKUP)
                .returning(Member.org_id)
            )
        ).scalar_one()
        await session.execute(update(Org).where(Org.id == member_id).values(name=MARKUP + "工会"))
    callers: list[Caller] = [
        await staff_caller(client, "admin"),
        await member_caller(client, app, card["phone"]),
    ]
    me = await client.get("/api/v1/me", headers=callers[1].headers())
    assert me.json()["member"]["name"] == MARKUP  # the value is stored and served as data
    assert me.headers["content-type"].startswith("application/json")
    assert me.headers["x-content-type-options"] == "nosniff"
    pages = html_pages(app)
    assert "/schema" in pages
    checked = 0
    for page in pages:
        for caller in callers:
            r = await client.get(page, headers=caller.headers(mutation=False))
            if r.status_code != 200 or not r.headers["content-type"].startswith("text/html"):
                continue
            checked += 1
            assert MARKUP not in r.text and "<script>alert" not in r.text, page
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", r.text), (
                f"{page}: inline script"
            )
    assert checked >= 2  # at least the API documentation page, for both callers
