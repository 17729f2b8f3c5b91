"""Access requests: everything held about one member, for staff (audited) and for the member."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.members.models import Member
from tests.merchants.conftest import login
from tests.support.pos import scan_log
from tests.support.privacy import Client, member_phone, member_sign_in, redeem, scan


async def test_staff_and_member_export_everything_held(
    client: Client, app: Litestar, engine: AsyncEngine, pos: Any
) -> None:
    prog = await pos.program("EXPORT")
    t = pos.terminal()
    mid = pos.member()
    done = await redeem(client, pos, mid, prog.id, 2000, t)
    await scan(client, pos, mid, t)
    await scan_log(engine, 1)  # scan-log rows are written in batches, off the request path
    async with make_sessionmaker(engine)() as session:
        m = await session.get(Member, mid)
        assert m is not None
        id_number = app.state.cipher.decrypt("id_number", m.id_number_enc)
    phone = await member_phone(engine, app, mid)

    await login(client, "admin")
    r = await client.get(f"/api/v1/members/{mid}/personal-data")
    assert r.status_code == 200, r.text
    assert "attachment" in r.headers["content-disposition"]
    assert r.headers["cache-control"] == "no-store"
    doc = r.json()
    assert doc["format"] == "unioncard.member-data.v1"
    assert doc["member"]["id_number"] == id_number and doc["member"]["phone"] == phone
    assert doc["member"]["member_no"] == m.member_no and doc["member"]["union"]["name"]
    assert [c["status"] for c in doc["cards"]] == ["active"]
    assert doc["card_events"] and doc["membership_events"]
    assert [x["id"] for x in doc["redemptions"]] == [done["id"]]
    assert doc["redemptions"][0]["amount_fen"] == 2000
    assert doc["redemptions"][0]["reversed_at"] is None
    assert len(doc["scans"]) >= 1 and doc["scans"][-1]["result"] == "ok"
    assert doc["scans"][-1]["merchant"]
    assert any(a["action"] == "member.create" for a in doc["audit"])
    assert isinstance(doc["sessions"], str)

    # The member downloads the same document about themselves.
    await member_sign_in(app, client, phone)
    mine = await client.get("/api/v1/me/personal-data")
    assert mine.status_code == 200, mine.text
    own = mine.json()
    assert own["member"]["id_number"] == id_number
    assert own["redemptions"] == doc["redemptions"] and own["scans"] == doc["scans"]

    async with make_sessionmaker(engine)() as session:
        rows = (
            await session.scalars(
                select(AuditEntry)
                .where(
                    AuditEntry.action == "member.privacy_export",
                    AuditEntry.target_id == str(mid),
                )
                .order_by(AuditEntry.at)
            )
        ).all()
    assert [r.actor_name for r in rows] == ["admin", f"member:{m.member_no}"]


async def test_export_of_an_erased_member_holds_nothing_personal(
    client: Client, app: Litestar, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    await login(client, "admin")
    async with make_sessionmaker(engine)() as session:
        mid = await session.scalar(
            select(Member.id).where(Member.member_no == demo["members"][1]["member_no"])
        )
    phone = demo["members"][1]["phone"]
    r = await client.post(f"/api/v1/members/{mid}/erasure", json={"reason": "REQ-7"})
    assert r.status_code == 200, r.text
    doc = (await client.get(f"/api/v1/members/{mid}/personal-data")).json()
    assert doc["member"]["id_number"] is None and doc["member"]["phone"] is None
    assert doc["member"]["name"] == "已注销" and doc["join_applications"] == []
    text = str(doc)
    assert phone not in text and demo["members"][1]["name"] not in text
    # Signed in with that phone, the person is no longer a member: nothing to download.
    await member_sign_in(app, client, phone)
    gone = await client.get("/api/v1/me/personal-data")
    assert gone.status_code == 404 and gone.json()["code"] == "not_a_member"
