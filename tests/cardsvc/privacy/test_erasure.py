"""Erasure: personal fields anonymised for good, while the ledger, the counters and the
merchant's settlement stay exactly as they were."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Litestar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.models import Redemption
from benefits.public import program_usage, reconcile
from cardsvc.cards.models import Card, CardStatus
from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.members.models import Member, MemberStatus
from cardsvc.membership.models import MembershipEvent
from merchants.models import ScanLog
from tests.merchants.conftest import login
from tests.support.pos import scan_log
from tests.support.privacy import Client, member_phone, member_sign_in, redeem, scan

BASIS = "12351-2026-0042"
AT = datetime.now(UTC)  # one instant for the usage read before and after


def _month() -> str:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")


async def _figures(
    client: Client, engine: AsyncEngine, pos: Any, t: dict[str, Any], prog: Any
) -> Any:
    settlement = await client.get(f"/api/v1/settlements/{_month()}", headers=pos.headers(t))
    assert settlement.status_code == 200, settlement.text
    async with engine.connect() as conn:
        usage = await program_usage(conn, program_id=prog.id, at=AT)
    async with engine.connect() as conn:
        drift = await reconcile(conn, program_id=prog.id, fix=False)
    return settlement.json(), usage, drift


async def _ledger(engine: AsyncEngine, member_id: uuid.UUID) -> list[tuple[Any, ...]]:
    async with make_sessionmaker(engine)() as session:
        rows = await session.execute(
            select(Redemption.id, Redemption.amount_fen, Redemption.discount_fen)
            .where(Redemption.member_id == member_id)
            .order_by(Redemption.id)
        )
        return [tuple(r) for r in rows]


async def test_erasure_keeps_settlement_and_counters(
    client: Client, app: Litestar, engine: AsyncEngine, pos: Any
) -> None:
    prog = await pos.program(
        "ERASE",
        limits=[
            {"metric": "count", "scope": "member", "period": "month", "limit": 10},
            {"metric": "amount", "scope": "program", "period": "lifetime", "limit": 10_000_00},
        ],
    )
    t = pos.terminal()
    victim, other = pos.member(), pos.member()
    await redeem(client, pos, victim, prog.id, 3000, t)
    voided = await redeem(client, pos, victim, prog.id, 5000, t)
    await redeem(client, pos, other, prog.id, 4000, t)
    r = await client.post(
        f"/api/v1/redemptions/{voided['id']}/reversal",
        json={"reason": "顾客退单"},
        headers=pos.headers(t, uuid.uuid4().hex),
    )
    assert r.status_code == 201, r.text
    await scan(client, pos, victim, t)
    await scan_log(engine, 1)  # scan-log rows are written in batches, off the request path
    await member_sign_in(app, client, await member_phone(engine, app, victim))
    assert (await client.get("/api/v1/me")).json()["member"] is not None

    before = await _figures(client, engine, pos, t, prog)
    assert before[2].drifts == ()
    assert before[0]["totals"]["count"] == 2 and before[0]["totals"]["reversed"] == 1
    ledger_before = await _ledger(engine, victim)
    assert len(ledger_before) == 2

    await login(client, "admin")
    r = await client.post(f"/api/v1/members/{victim}/erasure", json={"reason": BASIS})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["sessions_ended"] == 1 and out["counts"]["scans_deleted"] >= 1

    # The member's money trail is untouched: same settlement, same usage, no counter drift.
    after = await _figures(client, engine, pos, t, prog)
    assert after[0] == before[0]
    assert after[1] == before[1]
    assert after[2].drifts == () and after[2].redemptions_read == before[2].redemptions_read
    assert await _ledger(engine, victim) == ledger_before

    async with make_sessionmaker(engine)() as session:
        m = await session.get(Member, victim)
        assert m is not None and m.erased_at is not None
        assert (m.name, m.phone_enc, m.phone_hash, m.birth_date, m.gender) == (
            "已注销",
            None,
            None,
            None,
            "",
        )
        assert m.id_number_hash == f"erased:{victim.hex}"
        assert app.state.cipher.decrypt("id_number", m.id_number_enc) == ""
        assert m.status == MemberStatus.left and m.categories == [] and m.hardship_level is None
        assert m.employer is None and m.job is None and m.region_code is None
        cards = (await session.scalars(select(Card).where(Card.member_id == victim))).all()
        assert cards and all(c.status == CardStatus.revoked for c in cards)
        scans = await session.scalar(
            select(func.count()).select_from(ScanLog).where(ScanLog.member_id == victim)
        )
        assert scans == 0
        reasons = (
            await session.scalars(
                select(MembershipEvent.kind).where(
                    MembershipEvent.member_id == victim, MembershipEvent.reason.is_not(None)
                )
            )
        ).all()
        assert reasons == ["erased"]
        audit = (
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "member.erase", AuditEntry.target_id == str(victim)
                )
            )
        ).one()
        assert audit.actor_name == "admin" and audit.summary["basis"] == BASIS

    # Staff still see the (anonymous) member row; the member's session is gone.
    shown = (await client.get(f"/api/v1/members/{victim}")).json()
    assert shown["name"] == "已注销" and shown["id_number_masked"] == ""
    assert shown["phone_masked"] is None and shown["birth_date"] is None
    assert (await client.get("/api/v1/me")).status_code == 401

    # Irreversible and final: a second erasure and any edit are refused with a clear code.
    again = await client.post(f"/api/v1/members/{victim}/erasure", json={"reason": BASIS})
    assert again.status_code == 409 and again.json()["code"] == "member_already_erased"
    edit = await client.patch(f"/api/v1/members/{victim}", json={"name": "张三"})
    assert edit.status_code == 409 and edit.json()["code"] == "member_erased"


async def test_erasure_needs_the_privacy_permission_on_the_member(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    sample = next(m for m in demo["members"] if m["union"] != "XL-JIDIAN")
    async with make_sessionmaker(engine)() as session:
        member_id = await session.scalar(
            select(Member.id).where(Member.member_no == sample["member_no"])
        )
    body = {"reason": BASIS}
    # An auditor reads everything but handles no data-subject request; a benefits manager
    # neither; the admin of another union does not see the member at all.
    for user in ("hb.auditor", "yc.benefits", "xl.jidian"):
        client.cookies.clear()
        await login(client, user)
        r = await client.post(f"/api/v1/members/{member_id}/erasure", json=body)
        assert r.status_code == 404 and r.json()["code"] == "member_not_found", (user, r.text)
        r = await client.get(f"/api/v1/members/{member_id}/personal-data")
        assert r.status_code == 404, (user, r.text)
    client.cookies.clear()
    await login(client, "admin")
    r = await client.post(f"/api/v1/members/{member_id}/erasure", json={"reason": "  "})
    assert r.status_code == 422 and r.json()["code"] == "validation_error", r.text
    async with make_sessionmaker(engine)() as session:
        m = await session.get(Member, member_id)
        assert m is not None and m.erased_at is None
