"""Phone + one-time code sign-in for members and applicants."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.memberauth.otp import OtpPolicy
from cardsvc.memberauth.senders import RecordingSender


def _sender(app: Litestar) -> RecordingSender:
    sender = RecordingSender()
    app.state.sender = sender
    return sender


def _last_code(sender: RecordingSender) -> str:
    match = re.search(r"验证码 (\d{6})", sender.sent[-1][1])
    assert match, sender.sent
    return match.group(1)


async def test_member_signs_in_and_sees_membership(
    app: Litestar, client: AsyncTestClient, demo: dict[str, Any]
) -> None:
    sender = _sender(app)
    phone = demo["members"][0]["phone"]
    assert (await client.post("/api/v1/me/otp", json={"phone": phone})).status_code == 202
    code = _last_code(sender)
    resp = await client.post("/api/v1/me/session", json={"phone": phone, "code": code})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["member"]["member_no"] == demo["members"][0]["member_no"]
    assert body["phone_masked"].count("*") == 4
    me = await client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["member"]["status"] == "active"


async def test_code_is_single_use_and_wrong_code_refused(
    app: Litestar, client: AsyncTestClient, engine: AsyncEngine
) -> None:
    sender = _sender(app)
    phone = "13912345678"
    await client.post("/api/v1/me/otp", json={"phone": phone})
    code = _last_code(sender)
    wrong = "000000" if code != "000000" else "111111"
    bad = await client.post("/api/v1/me/session", json={"phone": phone, "code": wrong})
    assert bad.status_code == 401 and bad.json()["code"] == "otp_invalid"
    ok = await client.post("/api/v1/me/session", json={"phone": phone, "code": code})
    assert ok.status_code == 200 and ok.json()["member"] is None  # an applicant, not a member
    again = await client.post("/api/v1/me/session", json={"phone": phone, "code": code})
    assert again.status_code == 401 and again.json()["code"] == "otp_invalid"


async def test_resend_is_rate_limited(
    app: Litestar, client: AsyncTestClient, engine: AsyncEngine
) -> None:
    _sender(app)
    assert (await client.post("/api/v1/me/otp", json={"phone": "13912345670"})).status_code == 202
    resp = await client.post("/api/v1/me/otp", json={"phone": "13912345670"})
    assert resp.status_code == 429
    assert resp.json()["code"] == "rate_limited" and int(resp.headers["retry-after"]) > 0


async def test_guessing_is_capped(
    app: Litestar, client: AsyncTestClient, engine: AsyncEngine
) -> None:
    sender = _sender(app)
    phone = "13912345671"
    await client.post("/api/v1/me/otp", json={"phone": phone})
    code = _last_code(sender)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        r = await client.post("/api/v1/me/session", json={"phone": phone, "code": wrong})
        assert r.status_code == 401
    locked = await client.post("/api/v1/me/session", json={"phone": phone, "code": code})
    assert locked.status_code == 429 and locked.json()["code"] == "otp_attempts_exceeded"


async def test_bad_phone_is_a_field_error(client: AsyncTestClient, engine: AsyncEngine) -> None:
    resp = await client.post("/api/v1/me/otp", json={"phone": "12345"})
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "phone"


async def test_expired_code_is_refused(
    app: Litestar, client: AsyncTestClient, engine: AsyncEngine
) -> None:
    sender = _sender(app)
    app.state.otp_policy = OtpPolicy(ttl=1)
    phone = "13912345672"
    await client.post("/api/v1/me/otp", json={"phone": phone})
    code = _last_code(sender)
    await asyncio.sleep(1.2)
    late = await client.post("/api/v1/me/session", json={"phone": phone, "code": code})
    assert late.status_code == 401 and late.json()["code"] == "otp_invalid"
