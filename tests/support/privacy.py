"""Helpers for the privacy tests: redeem, scan, a member's phone, member sign-in."""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.db import make_sessionmaker
from cardsvc.memberauth.senders import RecordingSender
from cardsvc.members.models import Member
from tests.support.pos import Pos

Client = AsyncTestClient[Litestar]


async def redeem(
    client: Client,
    pos: Pos,
    member_id: uuid.UUID,
    program_id: Any,
    amount: int,
    terminal: dict[str, Any],
) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/redemptions",
        json={
            "code": await pos.code(member_id),
            "program_id": str(program_id),
            "amount_fen": amount,
        },
        headers=pos.headers(terminal, uuid.uuid4().hex),
    )
    assert r.status_code == 201, r.text
    return r.json()


async def scan(client: Client, pos: Pos, member_id: uuid.UUID, terminal: dict[str, Any]) -> None:
    r = await client.post(
        "/api/v1/scans", json={"code": await pos.code(member_id)}, headers=pos.headers(terminal)
    )
    assert r.status_code == 200, r.text


async def member_phone(engine: AsyncEngine, app: Litestar, member_id: uuid.UUID) -> str:
    async with make_sessionmaker(engine)() as session:
        m = await session.get(Member, member_id)
        assert m is not None and m.phone_enc
        return str(app.state.cipher.decrypt("phone", m.phone_enc))


async def member_sign_in(app: Litestar, client: Client, phone: str) -> str:
    """Sign a member in with the phone's one-time code; returns the member CSRF token."""
    sender = RecordingSender()
    app.state.sender = sender
    assert (await client.post("/api/v1/me/otp", json={"phone": phone})).status_code == 202
    match = re.search(r"验证码 (\d{6})", sender.sent[-1][1])
    assert match
    r = await client.post("/api/v1/me/session", json={"phone": phone, "code": match.group(1)})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf_token"])
