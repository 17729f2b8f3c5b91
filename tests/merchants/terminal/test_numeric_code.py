"""The numeric one-time code, end to end over HTTP on SQLite and PostgreSQL: the member's card
page issues it (``/m/card/codes``), a terminal scans and redeems with it (``/api/v1``), once;
a mistyped, unknown, expired or suspended-card number is refused, and look-ups are limited per
terminal. With Redis: the number lives in Redis, and a used code is flagged at scan time."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from cardsvc.app import create_app
from cardsvc.cards import numeric
from cardsvc.kernel.settings import Settings
from cardsvc.memberauth.senders import RecordingSender
from merchants.terminal.codes import NUMERIC_PER_MINUTE
from merchants.terminal.wiring import services_of
from tests.conftest import make_test_settings
from tests.support.contract import contract_client
from tests.support.staff import login

HX = {"HX-Request": "true"}


@pytest.fixture
def settings(db_url: str, var_dir: Path) -> Settings:
    return make_test_settings(db_url, var_dir)


async def _client(settings: Settings) -> AsyncIterator[Any]:
    app = create_app(settings)
    app.state.sender = RecordingSender()
    async with contract_client(app) as c:
        c.sender = app.state.sender  # type: ignore[attr-defined]
        c.app = app
        yield c


@pytest.fixture
async def phone(settings: Settings, engine: Any) -> AsyncIterator[Any]:
    async for c in _client(settings):
        yield c


async def _sign_in(c: Any, phone_no: str) -> None:
    sent = await c.post("/m/login/code", data={"phone": phone_no}, headers=HX)
    assert sent.status_code == 200, sent.text
    code = re.search(r"验证码 (\d{6})", c.sender.sent[-1][1])
    assert code
    r = await c.post(
        "/m/login",
        data={"phone": phone_no, "code": code.group(1), "next": "/m/", "accept": "yes"},
        headers=HX,
    )
    assert r.status_code == 200, r.text


async def _numbers(c: Any) -> list[str]:
    r = await c.get("/m/card/codes")
    assert r.status_code == 200, r.text
    out = []
    for code in r.json()["codes"]:
        assert re.fullmatch(r"\d{6} \d{6} \d{6}", code["number"]), code["number"]
        assert code["barcode"].startswith("<svg") and "<path" in code["barcode"]
        out.append(code["number"])
    assert len(set(out)) == len(out)  # one number per QR code
    return out


def _terminal(demo: dict[str, Any], category: str = "cinema", i: int = 0) -> dict[str, Any]:
    return [t for t in demo["terminals"] if t["category"] == category][i]


def _auth(t: dict[str, Any], key: str | None = None) -> dict[str, str]:
    h = {"Authorization": f"Bearer {t['key']}"}
    return h | ({"Idempotency-Key": key} if key else {})


def _program(demo: dict[str, Any], code: str = "YC-CINEMA") -> str:
    return str(next(p["id"] for p in demo["programs"] if p["code"] == code))


def _card_tail(demo: dict[str, Any], member: dict[str, Any]) -> str:
    card = next(x for x in demo["cards"] if x["member_no"] == member["member_no"])
    return str(card["number"])[-4:]


async def test_scan_and_redeem_once_with_the_number(phone: Any, demo: dict[str, Any]) -> None:
    c, member, t = phone, demo["members"][1], _terminal(demo)
    await _sign_in(c, member["phone"])
    number = (await _numbers(c))[0]
    # Typed as shown (grouped) or as a 1D scanner sends it (digits only): the same code.
    r = await c.post("/api/v1/scans", json={"code": number, "amount_fen": 4500}, headers=_auth(t))
    assert r.status_code == 200, r.text
    assert r.json()["card"]["number_masked"].endswith(_card_tail(demo, member))  # bound to it
    body = {"code": number.replace(" ", ""), "program_id": _program(demo), "amount_fen": 4500}
    r = await c.post("/api/v1/redemptions", json=body, headers=_auth(t, "num-1"))
    assert r.status_code == 201, r.text
    # A retry (same key) gets the stored answer; any other use is a replay, at scan time too.
    r = await c.post("/api/v1/redemptions", json=body, headers=_auth(t, "num-1"))
    assert r.status_code == 200 and r.headers["Idempotent-Replayed"] == "true"
    r = await c.post("/api/v1/redemptions", json=body, headers=_auth(t, "num-2"))
    assert r.status_code == 409 and r.json()["code"] == "token_replayed", r.text
    r = await c.post("/api/v1/scans", json={"code": number}, headers=_auth(t))
    assert r.status_code == 409 and r.json()["code"] == "token_replayed", r.text
    assert "已被使用" in r.json()["message_zh"]


async def test_mistyped_unknown_expired_and_suspended(phone: Any, demo: dict[str, Any]) -> None:
    c, member, t = phone, demo["members"][2], _terminal(demo)
    await _sign_in(c, member["phone"])
    number = (await _numbers(c))[0].replace(" ", "")
    typo = number[:5] + str((int(number[5]) + 1) % 10) + number[6:]  # the check digit catches it
    unknown = "1" * 17 + numeric.luhn_digit("1" * 17)  # well formed, never issued
    for bad in (typo, unknown):
        r = await c.post("/api/v1/scans", json={"code": bad}, headers=_auth(t))
        assert r.status_code == 422 and r.json()["code"] == "numeric_code_invalid", r.text
    # Past the QR's lifetime: expired, like the QR it stands for.
    services = services_of(c.app.state)
    services.clock = lambda: datetime.now(UTC) + timedelta(minutes=5)
    try:
        r = await c.post("/api/v1/scans", json={"code": number}, headers=_auth(t))
        assert r.status_code == 422 and r.json()["code"] == "token_expired", r.text
    finally:
        services.clock = lambda: datetime.now(UTC)
    # The card suspended (挂失) after the number was shown: refused.
    await login(c, "admin")
    found = (await c.get("/api/v1/members", params={"member_no": member["member_no"]})).json()
    mid = found["items"][0]["id"]
    cid = (await c.get(f"/api/v1/members/{mid}/cards")).json()["current"]["id"]
    r = await c.post(f"/api/v1/members/{mid}/cards/{cid}/suspend", json={"reason": "手机丢失"})
    assert r.status_code == 200, r.text
    r = await c.post("/api/v1/scans", json={"code": number}, headers=_auth(t))
    assert r.status_code == 403 and r.json()["code"] == "card_suspended", r.text


async def test_lookups_are_limited_per_terminal(phone: Any, demo: dict[str, Any]) -> None:
    c, t = phone, _terminal(demo)
    other = _terminal(demo, "dining")
    guess = "2" * 17 + numeric.luhn_digit("2" * 17)
    for _ in range(NUMERIC_PER_MINUTE):
        r = await c.post("/api/v1/scans", json={"code": guess}, headers=_auth(t))
        assert r.status_code == 422, r.text
    r = await c.post("/api/v1/scans", json={"code": guess}, headers=_auth(t))
    assert r.status_code == 429 and r.json()["code"] == "rate_limited", r.text
    assert int(r.headers["Retry-After"]) >= 1
    # Redeeming is limited by the same count; another terminal is not.
    body = {"code": guess, "program_id": _program(demo), "amount_fen": 100}
    r = await c.post("/api/v1/redemptions", json=body, headers=_auth(t, str(uuid.uuid4())))
    assert r.status_code == 429, r.text
    r = await c.post("/api/v1/scans", json={"code": guess}, headers=_auth(other))
    assert r.status_code == 422, r.text
    # A QR code is not counted.
    r = await c.post("/api/v1/scans", json={"code": "UC1AAAA"}, headers=_auth(t))
    assert r.status_code == 422 and r.json()["code"] == "malformed", r.text


@pytest.mark.redis
async def test_in_redis_single_use_and_flagged_at_scan(
    settings: Settings, engine: Any, demo: dict[str, Any], redis_url: str
) -> None:
    from dataclasses import replace

    async for c in _client(replace(settings, redis_url=redis_url)):
        member, t = demo["members"][3], _terminal(demo)
        await _sign_in(c, member["phone"])
        numbers = await _numbers(c)
        redis = Redis.from_url(redis_url)
        try:
            keys = [k async for k in redis.scan_iter(match="*num:*")]
            assert len(keys) == len(numbers)
            ttl = await redis.ttl(keys[0])
            assert numeric.GRACE_SECONDS < ttl <= numeric.GRACE_SECONDS + 300
        finally:
            await redis.aclose()
        # A redeemed QR code is flagged at scan time, before 核销 is offered.
        qr = (await c.get("/api/v1/me/card/token")).json()["text"]
        body = {"code": qr, "program_id": _program(demo), "amount_fen": 4500}
        r = await c.post("/api/v1/redemptions", json=body, headers=_auth(t, "qr-1"))
        assert r.status_code == 201, r.text
        r = await c.post("/api/v1/scans", json={"code": qr}, headers=_auth(t))
        assert r.status_code == 409 and r.json()["code"] == "token_replayed", r.text
        number = numbers[0]
        body = {"code": number, "program_id": _program(demo), "amount_fen": 4500}
        r = await c.post("/api/v1/redemptions", json=body, headers=_auth(t, "n-1"))
        assert r.status_code == 201, r.text  # a number of another (unused) QR code
        r = await c.post("/api/v1/redemptions", json=body, headers=_auth(t, "n-2"))
        assert r.status_code == 409 and r.json()["code"] == "token_replayed", r.text
