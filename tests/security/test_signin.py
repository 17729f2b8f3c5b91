"""Sign-in attacks: password guessing, one-time code guessing, session fixation, CSRF on every
cookie-authenticated mutation, login CSRF, and sign-out that really ends the session."""

from __future__ import annotations

import dataclasses
import re
import uuid
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler

from cardsvc.app import create_app
from cardsvc.demo.seed import DEMO_PASSWORD
from cardsvc.kernel.settings import Settings
from tests.security.conftest import (
    Client,
    last_code,
    member_caller,
    shop_caller,
    staff_caller,
)
from tests.support.contract import contract_client

STAFF = "/api/v1/staff/session"


async def test_password_guessing_is_throttled_the_same_for_unknown_accounts(
    app: Litestar, demo: dict[str, Any]
) -> None:
    """With the production throttle: after five tries from one address a known and an unknown
    account get the same 429, and the known one is not locked (a 423 told them apart)."""
    defaults = Settings()
    throttled = create_app(
        dataclasses.replace(
            app.state.settings,
            login_pair_limits=defaults.login_pair_limits,
            login_address_limits=defaults.login_address_limits,
            login_account_limits=defaults.login_account_limits,
        )
    )
    async with contract_client(throttled) as client:
        answers = []
        for name in ("xl.admin", "nobody.here"):
            for _ in range(5):
                r = await client.post(STAFF, json={"username": name, "password": "guess-123456"})
                assert r.status_code == 401 and r.json()["code"] == "invalid_credentials"
            r = await client.post(STAFF, json={"username": name, "password": DEMO_PASSWORD})
            assert r.status_code == 429 and "uc_staff" not in r.cookies, r.text
            answers.append((r.json()["code"], r.json()["message_en"], "retry-after" in r.headers))
        assert answers[0] == answers[1] == ("rate_limited", answers[0][1], True)
        assert (
            await client.post(STAFF, json={"username": "wjg.admin", "password": DEMO_PASSWORD})
        ).status_code == 200


async def test_one_time_code_guessing_voids_the_code(
    client: Client, app: Litestar, demo: dict[str, Any]
) -> None:
    phone = demo["cards"][1]["phone"]
    assert (await client.post("/api/v1/me/otp", json={"phone": phone})).status_code == 202
    code = last_code(app, phone)
    wrong = [f"{(int(code) + i) % 1_000_000:06d}" for i in range(1, 6)]
    for guess in wrong:
        r = await client.post("/api/v1/me/session", json={"phone": phone, "code": guess})
        assert r.status_code == 401 and r.json()["code"] == "otp_invalid"
    r = await client.post("/api/v1/me/session", json={"phone": phone, "code": code})
    assert r.status_code == 429 and r.json()["code"] == "otp_attempts_exceeded", r.text
    assert "uc_member" not in r.cookies
    # A new code is not sent at once (one a minute per phone), and the old one stays void.
    r = await client.post("/api/v1/me/otp", json={"phone": phone})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    r = await client.post("/api/v1/me/session", json={"phone": phone, "code": code})
    assert r.status_code in {401, 429} and "uc_member" not in r.cookies


async def test_codes_per_phone_per_hour_are_limited(
    client: Client, app: Litestar, demo: dict[str, Any]
) -> None:
    app.state.otp_policy = dataclasses.replace(app.state.otp_policy, resend_after=0)
    phone = demo["cards"][2]["phone"]
    statuses = [
        (await client.post("/api/v1/me/otp", json={"phone": phone})).status_code for _ in range(7)
    ]
    assert statuses[:5] == [202] * 5 and statuses[5:] == [429, 429], statuses


async def test_session_fixation_staff(client: Client, demo: dict[str, Any]) -> None:
    # A planted value never becomes a session …
    client.cookies.set("uc_staff", "attacker-chosen-value-0123456789")
    r = await client.post(STAFF, json={"username": "admin", "password": DEMO_PASSWORD})
    assert r.status_code == 200 and r.cookies["uc_staff"] != "attacker-chosen-value-0123456789"
    client.cookies.clear()
    r = await client.get(
        "/api/v1/staff/me", headers={"cookie": "uc_staff=attacker-chosen-value-0123456789"}
    )
    assert r.status_code == 401
    # … and a real session planted by an attacker (their own) is closed when the victim signs in.
    attacker = await staff_caller(client, "xl.admin")
    r = await client.post(
        STAFF,
        json={"username": "admin", "password": DEMO_PASSWORD},
        headers={"cookie": attacker.cookie},
    )
    assert r.status_code == 200 and f"uc_staff={r.cookies['uc_staff']}" != attacker.cookie
    client.cookies.clear()
    assert (await client.get("/api/v1/staff/me", headers=attacker.headers())).status_code == 401


async def test_session_fixation_member(client: Client, app: Litestar, demo: dict[str, Any]) -> None:
    attacker = await member_caller(client, app, demo["cards"][3]["phone"])
    victim_phone = demo["cards"][4]["phone"]
    assert (await client.post("/api/v1/me/otp", json={"phone": victim_phone})).status_code == 202
    r = await client.post(
        "/api/v1/me/session",
        json={"phone": victim_phone, "code": last_code(app, victim_phone)},
        headers={"cookie": attacker.cookie},
    )
    assert r.status_code == 200 and f"uc_member={r.cookies['uc_member']}" != attacker.cookie
    client.cookies.clear()
    assert (await client.get("/api/v1/me", headers=attacker.headers())).status_code == 401


async def test_sign_out_ends_the_session(
    client: Client, app: Litestar, demo: dict[str, Any]
) -> None:
    staff = await staff_caller(client, "admin")
    assert (await client.get("/api/v1/staff/me", headers=staff.headers())).status_code == 200
    assert (await client.delete(STAFF, headers=staff.headers())).status_code == 204
    client.cookies.clear()
    assert (await client.get("/api/v1/staff/me", headers=staff.headers())).status_code == 401
    r = await client.post("/api/v1/orgs", json={}, headers=staff.headers())
    assert r.status_code == 401  # the old cookie and CSRF token mutate nothing
    member = await member_caller(client, app, demo["cards"][5]["phone"])
    assert (await client.get("/api/v1/me", headers=member.headers())).status_code == 200
    assert (await client.delete("/api/v1/me/session", headers=member.headers())).status_code == 204
    client.cookies.clear()
    assert (await client.get("/api/v1/me", headers=member.headers())).status_code == 401
    assert (await client.get("/api/v1/me/card", headers=member.headers())).status_code == 401


async def test_sign_in_refuses_bodies_a_cross_site_form_can_send(
    client: Client, app: Litestar, demo: dict[str, Any]
) -> None:
    """Login CSRF: an HTML form can post text/plain or form-encoded JSON-looking text."""
    body = b'{"username":"admin","password":"' + DEMO_PASSWORD.encode() + b'"}'
    for media in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""):
        headers = {"content-type": media} if media else {}
        r = await client.post(STAFF, content=body, headers=headers)
        assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type", media
        assert "uc_staff" not in r.cookies
        phone = demo["cards"][6]["phone"].encode()
        r = await client.post(
            "/api/v1/me/otp", content=b'{"phone":"' + phone + b'"}', headers=headers
        )
        assert r.status_code == 415, media
    r = await client.post(
        STAFF, content=body, headers={"content-type": "application/json; charset=utf-8"}
    )
    assert r.status_code == 200


# --- CSRF on every cookie-authenticated mutation ----------------------------------------------

SIGN_IN = {
    "POST /api/v1/staff/session",
    "POST /api/v1/me/otp",
    "POST /api/v1/me/session",
    # The pages' sign-in forms: no session (hence no token) exists yet.
    "POST /console/login",
    "POST /m/login",
    "POST /m/login/code",
    "POST /shop/login",
}
# Sign-out needs no token: it only ends the caller's own session, and another site cannot send
# a DELETE without a CORS preflight, which this API never grants (checked below). The pages'
# sign-out is a form POST: the worst a forged one does is sign the caller out.
SIGN_OUT = {
    "DELETE /api/v1/staff/session",
    "DELETE /api/v1/me/session",
    "POST /console/logout",
    "POST /m/logout",
    "POST /shop/logout",
}
# Path parameters of pages that name no object: a value the handler accepts.
PAGE_PARAMS = {"action": "approve"}
TERMINAL = (
    "/api/v1/scans",
    "/api/v1/redemptions",
    "/api/v1/voucher-redemptions",
    "/api/v1/settlements",
    "/api/v1/terminal",
)


def mutations(app: Litestar) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            for method in sorted(handler.http_methods - {"GET", "HEAD", "OPTIONS"}):
                key = f"{method} {route.path_format}"
                if key not in SIGN_IN | SIGN_OUT and not route.path_format.startswith(TERMINAL):
                    found.append((method, route.path_format))
    return found


def _example_url(schema: Any, method: str, path: str) -> str:
    """``path`` with its parameters filled by a generated example (ids that exist or not);
    pages (not in the OpenAPI document) get a random id."""
    if path.startswith(("/console", "/m/", "/shop")):
        return re.sub(r"\{(\w+)\}", lambda m: PAGE_PARAMS.get(m.group(1), str(uuid.uuid4())), path)
    op = schema[path][method.lower()]
    found: list[Any] = []

    @settings(
        max_examples=1,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    @given(op.as_strategy())
    def collect(case: Any) -> None:
        found.append(case.formatted_path)

    collect()
    return found[0]


async def test_every_cookie_mutation_needs_the_csrf_token(
    client: Client, app: Litestar, demo: dict[str, Any]
) -> None:
    staff = await staff_caller(client, "admin")
    member = await member_caller(client, app, demo["cards"][7]["phone"])
    shop = await shop_caller(client, demo["terminals"][0]["key"])
    schema = schemathesis.openapi.from_dict(app.openapi_schema.to_schema())
    checked = []
    for method, path in mutations(app):
        url = _example_url(schema, method, path)
        page = path.startswith(("/console", "/m/", "/shop"))
        if path == "/api/v1/me" or path.startswith(("/api/v1/me/", "/m/")):
            caller = member
        elif path.startswith("/shop"):
            caller = shop
        else:
            caller = staff
        # No token; a forged one; for members, a staff token (the two are not interchangeable).
        tries: list[str | None] = [None, "forged-" + caller.csrf[7:]]
        if caller is member:
            tries.append(staff.csrf)
        for csrf in tries:
            headers = {"cookie": caller.cookie, "content-type": "application/json"}
            if csrf is not None:
                headers["x-csrf-token"] = csrf
            r = await client.request(method, url, headers=headers, content=b"{}")
            # Pages show the same problem as an error page.
            code = (
                'data-code="csrf_failed"' in r.text if page else r.json()["code"] == "csrf_failed"
            )
            assert r.status_code == 403 and code, (
                method,
                url,
                csrf,
                r.status_code,
                r.text[:200],
            )
        checked.append((method, path))
    assert len(checked) >= 40 and ("POST", "/api/v1/me/leave") in checked
    assert {("POST", "/console/members/{member_id}/identity"), ("POST", "/m/leave")} <= set(checked)
    assert ("POST", "/shop/redemptions/{redemption_id}/void") in checked
    r = await client.options(
        "/api/v1/staff/session",
        headers={"origin": "https://evil.example", "access-control-request-method": "DELETE"},
    )
    assert "access-control-allow-origin" not in r.headers


async def test_page_sign_in_forms_refuse_a_cross_site_post(
    client: Client, app: Litestar, demo: dict[str, Any]
) -> None:
    """Login CSRF on the pages: their sign-in forms must be form posts (so the API's JSON-only
    rule cannot apply); a post the browser marks as coming from another site is refused, and
    no session or code results. The same post from the page itself goes through."""
    phone = demo["cards"][8]["phone"]
    forms = [
        ("/console/login", {"username": "admin", "password": DEMO_PASSWORD}, "uc_staff"),
        ("/shop/login", {"key": demo["terminals"][0]["key"]}, "uc_shop"),
        ("/m/login/code", {"phone": phone}, None),
    ]
    sender = app.state.sender
    for url, form, cookie in forms:
        sent = len(sender.sent)
        r = await client.post(
            url, data=form, headers={"sec-fetch-site": "cross-site"}, follow_redirects=False
        )
        assert r.status_code == 403 and 'data-code="cross_site_form"' in r.text, url
        assert cookie is None or cookie not in r.cookies, url
        assert len(sender.sent) == sent, url  # no code sent in the victim's name
        client.cookies.clear()
        r = await client.post(
            url, data=form, headers={"sec-fetch-site": "same-origin"}, follow_redirects=False
        )
        assert r.status_code in {200, 303}, (url, r.status_code, r.text[:200])
        assert cookie is None or cookie in r.cookies, url
        client.cookies.clear()
    # The code-entry form too: a cross-site post with the right code signs no one in.
    code = last_code(app, phone)
    r = await client.post(
        "/m/login",
        data={"phone": phone, "code": code, "accept": "yes"},
        headers={"sec-fetch-site": "cross-site"},
        follow_redirects=False,
    )
    assert r.status_code == 403 and "uc_member" not in r.cookies
    r = await client.post(
        "/m/login", data={"phone": phone, "code": code, "accept": "yes"}, follow_redirects=False
    )
    assert r.status_code in {200, 303} and "uc_member" in r.cookies, r.text[:200]
