"""Regression tests for the 500s and schema violations the whole-API contract test found."""

from __future__ import annotations

import html
import uuid
from typing import Any

import pytest
from litestar import Litestar

from cardsvc.demo.seed import DEMO_PASSWORD
from tests.security.conftest import Client, member_caller, shop_caller, staff_caller


async def test_version_number_beyond_the_column_is_404_not_500(
    client: Client, demo: dict[str, Any]
) -> None:
    admin = await staff_caller(client, "admin")
    program = demo["programs"][0]["id"]
    for number in (2**31, 10**30, -1, 0):
        r = await client.get(
            f"/api/v1/programs/{program}/versions/{number}", headers=admin.headers()
        )
        assert r.status_code == 404, (number, r.text)
    r = await client.get(f"/api/v1/programs/{program}/versions/1", headers=admin.headers())
    assert r.status_code == 200 and r.json()["number"] == 1


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/merchants",
        "/api/v1/roster/imports",
        "/api/v1/approvals/applications",
        "/api/v1/members",
        "/api/v1/programs",
        "/api/v1/audit",
    ],
)
async def test_offset_past_64_bits_is_400_not_500(
    client: Client, demo: dict[str, Any], path: str
) -> None:
    admin = await staff_caller(client, "admin")
    r = await client.get(path, params={"offset": str(10**30)}, headers=admin.headers())
    assert r.status_code == 400 and r.json()["code"] == "validation_error", r.text
    r = await client.get(path, params={"offset": "1000000000"}, headers=admin.headers())
    assert r.status_code == 200 and r.json()["items"] == [], r.text


async def test_nul_character_in_text_is_a_client_error(
    client: Client, demo: dict[str, Any], db_url: str
) -> None:
    """PostgreSQL cannot store or compare text with NUL: 400 invalid_value, never a 500."""
    r = await client.post(
        "/api/v1/staff/session", json={"username": "ad\x00min", "password": DEMO_PASSWORD}
    )
    assert r.status_code in {400, 401}, r.text
    if db_url.startswith("postgresql"):
        assert r.status_code == 400 and r.json()["code"] == "invalid_value", r.text
        assert r.json()["message_zh"] and r.json()["message_en"]
    admin = await staff_caller(client, "admin")
    r = await client.get("/api/v1/merchants", params={"q": "面\x00馆"}, headers=admin.headers())
    assert r.status_code in {200, 400}, r.text
    if db_url.startswith("postgresql"):
        assert r.json()["code"] == "invalid_value"


async def test_sign_out_is_204_without_a_body_and_clears_the_cookie(
    client: Client, demo: dict[str, Any]
) -> None:
    admin = await staff_caller(client, "admin")
    r = await client.delete("/api/v1/staff/session", headers=admin.headers())
    assert r.status_code == 204 and r.content == b""
    cleared = r.headers["set-cookie"]
    assert cleared.startswith("uc_staff=") and "Max-Age=0" in cleared
    r = await client.delete("/api/v1/me/session")
    assert r.status_code == 204 and r.content == b""
    assert r.headers["set-cookie"].startswith("uc_member=")


async def test_openapi_documents_problem_details_and_media_types(client: Client) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for status, resp in op["responses"].items():
                if status.startswith(("4", "5")) and resp.get("content"):
                    assert list(resp["content"]) == ["application/problem+json"], (
                        method,
                        path,
                        status,
                    )
    ok = spec["paths"]
    assert "image/png" in ok["/api/v1/me/card/qr.png"]["get"]["responses"]["200"]["content"]
    assert "image/svg+xml" in ok["/api/v1/me/card/qr.svg"]["get"]["responses"]["200"]["content"]
    revocations = ok["/api/v1/cards/revocations"]["get"]["responses"]["200"]["content"]
    assert "application/statuslist+jwt" in revocations
    jwks = ok["/.well-known/jwks.json"]["get"]["responses"]["200"]["content"]["application/json"]
    assert jwks["schema"]["$ref"].endswith("JwksOut")
    assert "content" not in ok["/api/v1/staff/session"]["delete"]["responses"]["204"]


async def test_page_error_pages_show_no_function_repr(
    client: Client, app: Litestar, demo: dict[str, Any]
) -> None:
    """An error page of each page area carries an empty CSRF meta tag, not Litestar's
    ``csrf_token`` template callable printed as ``<function csrf_token at 0x…>``."""
    missing = uuid.uuid4()
    tries = [
        (await staff_caller(client, "admin"), "GET", f"/console/members/{missing}"),
        (
            await member_caller(client, app, demo["cards"][1]["phone"]),
            "GET",
            f"/m/requests/{missing}",
        ),
        (
            await shop_caller(client, demo["terminals"][0]["key"]),
            "POST",
            f"/shop/redemptions/{missing}/void",
        ),
    ]
    for caller, method, url in tries:
        r = await client.request(
            method, url, headers=caller.headers(), data={"idem": uuid.uuid4().hex}
        )
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), url
        assert "<function" not in html.unescape(r.text), url
        assert '<meta name="csrf-token" content="">' in r.text, url
