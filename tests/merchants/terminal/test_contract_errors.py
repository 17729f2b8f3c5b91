"""One test per error code of the scan / redeem / reverse contract, through HTTP.

Each asserts the status, the stable ``code`` and that the body is problem details with a
Chinese and an English message.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from benefits.public import pause_program
from cardsvc.cards.keys import Signer
from cardsvc.cards.minting import mint_token
from cardsvc.cards.service import revoke_card, suspend_card
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.members.models import MemberStatus
from merchants.models import Merchant, MerchantStatus
from merchants.terminal.auth import TerminalGate
from tests.support.pos import Pos, later, pos_fixture  # noqa: F401 (fixture)

Client = AsyncTestClient[Litestar]


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code, body
    assert body["message_zh"] and body["message_en"] and body["message_zh"] != body["message_en"]
    return body


async def scan(
    client: Client, p: Pos, code: str, t: dict[str, Any] | None = None
) -> httpx.Response:
    return await client.post(
        "/api/v1/scans", json={"code": code}, headers=p.headers(t or p.terminal())
    )


async def redeem(
    client: Client,
    p: Pos,
    code: str,
    program_id: uuid.UUID,
    *,
    key: str | None = None,
    amount: int = 5000,
    t: dict[str, Any] | None = None,
) -> httpx.Response:
    return await client.post(
        "/api/v1/redemptions",
        json={"code": code, "program_id": str(program_id), "amount_fen": amount},
        headers=p.headers(t or p.terminal(), key or uuid.uuid4().hex),
    )


# --- authentication and the merchant --------------------------------------------------------


async def test_unauthorized(client: Client, pos: Pos) -> None:
    code = await pos.code(pos.member())
    r = await client.post("/api/v1/scans", json={"code": code})
    problem(r, 401, "unauthorized")
    r = await client.post(
        "/api/v1/redemptions", json={"code": code}, headers={"Authorization": "Bearer uck_nope"}
    )
    problem(r, 401, "unauthorized")


async def test_merchant_suspended(client: Client, pos: Pos, gate: TerminalGate) -> None:
    t = pos.terminal()
    async with make_sessionmaker(pos.engine)() as session, session.begin():
        await session.execute(
            update(Merchant)
            .where(Merchant.id == uuid.UUID(t["merchant_id"]))
            .values(status=MerchantStatus.suspended)
        )
    gate.forget(merchant_id=uuid.UUID(t["merchant_id"]))
    problem(await scan(client, pos, await pos.code(pos.member()), t), 403, "merchant_suspended")


async def test_rate_limited_static_card_velocity(client: Client, pos: Pos) -> None:
    prog = await pos.program("DINE10")
    pos.services.static_per_hour = 2
    static = await pos.static_code(pos.member())
    for _ in range(2):
        assert (await redeem(client, pos, static, prog.id, amount=100)).status_code == 201
    r = await redeem(client, pos, static, prog.id, amount=100)
    body = problem(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) > 0 and body["limit_scope"] == "card"


# --- the code ---------------------------------------------------------------------------------


async def test_malformed(client: Client, pos: Pos) -> None:
    problem(await scan(client, pos, "not a card code"), 422, "malformed")
    # A future format version is "malformed" for this contract, the reason kept.
    body = problem(await scan(client, pos, "UC9" + "A" * 144), 422, "malformed")
    assert body.get("reason") == "unsupported_version"


async def test_signature_invalid(client: Client, pos: Pos) -> None:
    code = await pos.code(pos.member())
    tampered = code[:-1] + ("A" if code[-1] != "A" else "B")
    problem(await scan(client, pos, tampered), 422, "signature_invalid")


async def test_unknown_key(client: Client, pos: Pos) -> None:
    card = await pos.card_of(pos.member())
    stranger = Signer(kid=4242, private_key=Ed25519PrivateKey.generate())
    token = mint_token(
        card,
        stranger,
        kind=card_kind("rotating"),
        not_before=datetime.now(UTC),
        validity=timedelta(seconds=60),
    )
    problem(await scan(client, pos, token.text), 422, "unknown_key")


def card_kind(name: str) -> Any:
    from cardsvc.cards.token import Kind

    return Kind[name]


async def test_token_expired(client: Client, pos: Pos) -> None:
    mid = pos.member()
    old = await pos.code(mid, now=datetime.now(UTC) - timedelta(minutes=10))
    problem(await scan(client, pos, old), 422, "token_expired")
    # Not valid yet (a till with a wrong clock) is reported under the same code.
    early = await pos.code(mid, now=datetime.now(UTC) + timedelta(minutes=10))
    body = problem(await scan(client, pos, early), 422, "token_expired")
    assert body["reason"] == "not_yet_valid"


async def test_card_revoked(client: Client, pos: Pos) -> None:
    mid = pos.member()
    code = await pos.code(mid)
    card = await pos.card_of(mid)
    async with make_sessionmaker(pos.engine)() as session, session.begin():
        await revoke_card(session, card_id=card.id, reason="test")
    problem(await scan(client, pos, code), 403, "card_revoked")


async def test_card_suspended(client: Client, pos: Pos) -> None:
    mid = pos.member()
    code = await pos.code(mid)
    card = await pos.card_of(mid)
    async with make_sessionmaker(pos.engine)() as session, session.begin():
        await suspend_card(session, card_id=card.id, reason="挂失")
    problem(await scan(client, pos, code), 403, "card_suspended")


async def test_member_inactive(client: Client, pos: Pos) -> None:
    prog = await pos.program("DINE10")
    mid = pos.member()
    code = await pos.code(mid)
    await pos.set_member_status(mid, MemberStatus.suspended)
    problem(await scan(client, pos, code), 403, "member_inactive")
    problem(await redeem(client, pos, code, prog.id), 403, "member_inactive")


async def test_token_replayed(client: Client, pos: Pos) -> None:
    prog = await pos.program("DINE10")
    code = await pos.code(pos.member())
    assert (await redeem(client, pos, code, prog.id, key="a")).status_code == 201
    problem(await redeem(client, pos, code, prog.id, key="b"), 409, "token_replayed")
    # Another merchant's till, the same screenshot: refused as well.
    other = pos.terminal("cinema")
    problem(await redeem(client, pos, code, prog.id, key="c", t=other), 409, "token_replayed")


# --- the programme ----------------------------------------------------------------------------


async def test_not_eligible_hides_the_reason(client: Client, pos: Pos) -> None:
    prog = await pos.program("YOUNG", eligibility={"max_age": 1})
    r = await redeem(client, pos, await pos.code(pos.member()), prog.id)
    body = problem(r, 403, "not_eligible")
    assert "reasons" not in body and "too_old" not in r.text and "max_age" not in r.text


async def test_not_in_scope(client: Client, pos: Pos) -> None:
    prog = await pos.program("CINEMA", scope={"merchant_categories": ["cinema"]})
    problem(await redeem(client, pos, await pos.code(pos.member()), prog.id), 403, "not_in_scope")


async def test_quota_exhausted(client: Client, pos: Pos) -> None:
    prog = await pos.program(
        "ONCE", limits=[{"metric": "count", "scope": "member", "period": "month", "limit": 1}]
    )
    mid = pos.member()
    assert (await redeem(client, pos, await pos.code(mid), prog.id)).status_code == 201
    body = problem(await redeem(client, pos, await pos.code(mid), prog.id), 409, "quota_exhausted")
    assert body["policy"] == "member_month_count"


async def test_budget_exhausted(client: Client, pos: Pos) -> None:
    prog = await pos.program(
        "TINY", limits=[{"metric": "amount", "scope": "program", "period": "year", "limit": 100}]
    )
    problem(
        await redeem(client, pos, await pos.code(pos.member()), prog.id, amount=8800),
        409,
        "budget_exhausted",
    )


async def test_static_token_refused_by_programme(client: Client, pos: Pos) -> None:
    prog = await pos.program("PHONEONLY", accept_static_tokens=False)
    mid = pos.member()
    static = await pos.static_code(mid)
    problem(await redeem(client, pos, static, prog.id), 403, "static_token_refused")
    # The scan says so too, and the phone's code works.
    r = await scan(client, pos, static)
    assert r.status_code == 200
    refused = [u for u in r.json()["unavailable"] if u["program_code"] == "PHONEONLY"]
    assert refused and refused[0]["code"] == "static_token_refused"
    assert (await redeem(client, pos, await pos.code(mid), prog.id)).status_code == 201


async def test_program_not_found_and_inactive(client: Client, pos: Pos) -> None:
    code = await pos.code(pos.member())
    problem(await redeem(client, pos, code, uuid.uuid4()), 404, "program_not_found")
    prog = await pos.program("PAUSED")
    async with pos.engine.connect() as conn:
        await pause_program(conn, program_id=prog.id)
    problem(await redeem(client, pos, code, prog.id), 409, "program_inactive")


# --- the request ------------------------------------------------------------------------------


async def test_idempotency_key_required_and_invalid(client: Client, pos: Pos) -> None:
    prog = await pos.program("DINE10")
    body = {"code": await pos.code(pos.member()), "program_id": str(prog.id), "amount_fen": 1}
    r = await client.post("/api/v1/redemptions", json=body, headers=pos.headers(pos.terminal()))
    problem(r, 400, "idempotency_key_required")
    for bad in ("x" * 129, "has space", "中文".encode()):
        r = await client.post(
            "/api/v1/redemptions",
            json=body,
            # httpx sends bytes header values as they are; its type admits str or bytes, not both
            headers={**pos.headers(pos.terminal()), "Idempotency-Key": bad},  # type: ignore[arg-type]
        )
        problem(r, 400, "idempotency_key_invalid")


async def test_idempotency_conflict(client: Client, pos: Pos) -> None:
    prog = await pos.program("DINE10")
    mid = pos.member()
    code = await pos.code(mid)
    assert (await redeem(client, pos, code, prog.id, key="k", amount=100)).status_code == 201
    problem(
        await redeem(client, pos, code, prog.id, key="k", amount=200), 409, "idempotency_conflict"
    )
    # Another member's code under the same key is a different request too.
    other = await pos.code(pos.member())
    problem(
        await redeem(client, pos, other, prog.id, key="k", amount=100), 409, "idempotency_conflict"
    )
    # The same member's next code, same key and body: not a retry of that redemption either;
    # the new code is left unused (a new key can still redeem it).
    fresh = await pos.code(mid)
    problem(
        await redeem(client, pos, fresh, prog.id, key="k", amount=100), 409, "idempotency_conflict"
    )
    assert (await redeem(client, pos, fresh, prog.id, key="k2", amount=100)).status_code == 201


async def test_validation_error(client: Client, pos: Pos) -> None:
    t = pos.terminal()
    for body in (
        {"code": "x"},  # no programme, no amount
        {"code": "x", "program_id": "nope", "amount_fen": 1},
        {"code": "x", "program_id": str(uuid.uuid4()), "amount_fen": -1},
        {"code": "x", "program_id": str(uuid.uuid4()), "amount_fen": 1, "units": 0},
    ):
        r = await client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, "v"))
        problem(r, 400, "validation_error")
    r = await client.post("/api/v1/scans", content=b"{not json", headers=pos.headers(t))
    assert r.status_code == 400 and r.json()["code"] in ("validation_error", "malformed_body")


async def test_reversal_errors(client: Client, pos: Pos) -> None:
    prog = await pos.program("DINE10")
    t = pos.terminal()
    r = await redeem(client, pos, await pos.code(pos.member()), prog.id)
    rid = r.json()["id"]
    url = f"/api/v1/redemptions/{rid}/reversal"
    problem(
        await client.post(url, json={"reason": "x"}, headers=pos.headers(t)),
        400,
        "idempotency_key_required",
    )
    missing = f"/api/v1/redemptions/{uuid.uuid4()}/reversal"
    problem(
        await client.post(missing, json={"reason": "x"}, headers=pos.headers(t, "r0")),
        404,
        "redemption_not_found",
    )
    # Another merchant cannot see it: 404, not 403.
    other = pos.terminal("cinema")
    problem(
        await client.post(url, json={"reason": "x"}, headers=pos.headers(other, "r1")),
        404,
        "redemption_not_found",
    )
    pos.services.clock = later(pos.services.reversal_window_seconds + 60)
    problem(
        await client.post(url, json={"reason": "x"}, headers=pos.headers(t, "r2")),
        409,
        "reversal_window_closed",
    )


async def test_invalid_cursor_and_month(client: Client, pos: Pos) -> None:
    t = pos.terminal()
    r = await client.get("/api/v1/redemptions?cursor=bm90LWEtY3Vyc29y", headers=pos.headers(t))
    problem(r, 400, "invalid_cursor")
    r = await client.get("/api/v1/settlements/2026-13", headers=pos.headers(t))
    problem(r, 400, "invalid_month")
