"""Security headers on every response and the flags of the session cookies."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from litestar import Litestar

from cardsvc.app import create_app
from cardsvc.demo.seed import DEMO_PASSWORD
from cardsvc.kernel.settings import Settings
from cardsvc.memberauth.senders import RecordingSender
from tests.security.conftest import Client, last_code
from tests.support.contract import contract_client

CSP_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
}


def assert_security_headers(headers: Any) -> None:
    csp = {
        d.split()[0]: " ".join(d.split()[1:])
        for d in headers["content-security-policy"].split(";")
        if d.strip()
    }
    for name, value in CSP_DIRECTIVES.items():
        assert csp.get(name) == value, (name, csp)
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] in {"same-origin", "no-referrer", "strict-origin"}
    assert headers["x-frame-options"] == "DENY"


async def test_headers_on_api_errors_pages_and_files(client: Client, demo: dict[str, Any]) -> None:
    for path in (
        "/health/live",
        "/api/v1/orgs",  # 401 problem details
        "/no/such/path",  # 404 outside any route
        "/schema",  # the API documentation page
        "/schema/openapi.json",
        "/static/swagger/swagger-ui.css",
        "/.well-known/jwks.json",
    ):
        r = await client.get(path)
        assert r.status_code in {200, 401, 404}, (path, r.status_code)
        assert_security_headers(r.headers)
    r = await client.post(
        "/api/v1/staff/session",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400
    assert_security_headers(r.headers)
    # Not over TLS: no HSTS (it would pin plain-HTTP development hosts).
    assert "strict-transport-security" not in r.headers


async def test_api_docs_page_has_no_inline_script_and_its_scripts_are_served(
    client: Client, demo: dict[str, Any]
) -> None:
    r = await client.get("/schema")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts, page
    for attrs, body in scripts:
        assert 'src="' in attrs and not body.strip(), f"inline script: {attrs} {body[:80]}"
    assert "<style" not in page and " style=" not in page and "onload=" not in page
    for src in re.findall(r'<script src="([^"]+)"', page) + re.findall(r'href="(/[^"]+)"', page):
        got = await client.get(src)
        assert got.status_code == 200, src
        assert_security_headers(got.headers)
    init = await client.get(re.findall(r'<script src="([^"]+)"', page)[-1])
    assert "SwaggerUIBundle(" in init.text and init.headers["content-type"].startswith(
        "text/javascript"
    )
    spec_url = re.search(r'data-spec-url="([^"]+)"', page)
    assert spec_url and (await client.get(spec_url.group(1))).json()["openapi"].startswith("3.")


def _set_cookie(r: Any, name: str) -> str:
    found = [v for v in r.headers.get_list("set-cookie") if v.startswith(f"{name}=")]
    assert len(found) == 1, r.headers.get_list("set-cookie")
    return found[0]


def _flags(cookie: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]} | {
        "samesite=" + part.split("=")[1].strip().lower()
        for part in cookie.split(";")[1:]
        if part.strip().lower().startswith("samesite=")
    }


async def _sign_in_both(client: Client, app: Litestar, demo: dict[str, Any]) -> tuple[str, str]:
    r = await client.post(
        "/api/v1/staff/session", json={"username": "admin", "password": DEMO_PASSWORD}
    )
    assert r.status_code == 200, r.text
    staff = _set_cookie(r, "uc_staff")
    phone = demo["cards"][0]["phone"]
    assert (await client.post("/api/v1/me/otp", json={"phone": phone})).status_code == 202
    r = await client.post(
        "/api/v1/me/session", json={"phone": phone, "code": last_code(app, phone)}
    )
    assert r.status_code == 200, r.text
    return staff, _set_cookie(r, "uc_member")


async def test_session_cookies_httponly_samesite_not_secure_over_plain_http(
    client: Client, app: Litestar, demo: dict[str, Any]
) -> None:
    for cookie in await _sign_in_both(client, app, demo):
        flags = _flags(cookie)
        assert "httponly" in flags and flags & {"samesite=lax", "samesite=strict"}, cookie
        assert "secure" not in flags, cookie  # the browser would drop it on http://


async def test_session_cookies_secure_over_tls(
    settings: Settings, engine: Any, demo: dict[str, Any]
) -> None:
    app = create_app(settings)
    app.state.sender = RecordingSender()
    async with contract_client(app, base_url="https://unioncard.example") as client:
        for cookie in await _sign_in_both(client, app, demo):
            flags = _flags(cookie)
            assert {"secure", "httponly"} <= flags and "samesite=lax" in flags, cookie
        r = await client.get("/health/live")
        assert r.headers["strict-transport-security"].startswith("max-age=")


async def test_session_cookies_secure_in_production_setting_behind_a_tls_proxy(
    settings: Settings, engine: Any, demo: dict[str, Any]
) -> None:
    app = create_app(dataclasses.replace(settings, secure_cookies=True))
    app.state.sender = RecordingSender()
    async with contract_client(app) as client:  # plain HTTP between proxy and app
        for cookie in await _sign_in_both(client, app, demo):
            assert {"secure", "httponly"} <= _flags(cookie), cookie
