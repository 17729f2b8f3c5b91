"""Hardship records: approved only one level above the member's union; approval switches a
hardship programme's eligibility on, expiry without review switches it off (both databases);
records are read only by the roles that handle them, and every read is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.engine.member_view import member_benefits
from cardsvc.flows.member_benefits import member_facts
from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.errors import AppError, Conflict, Forbidden, NotFound
from cardsvc.members.models import Member
from cardsvc.servicereq.hardship import service as hs
from cardsvc.servicereq.hardship.models import HardshipCategory, HardshipStatus
from cardsvc.servicereq.sweep import sweep_once
from tests.cardsvc.servicereq.conftest import member_in, staff
from tests.conftest import make_test_settings

HARDSHIP_PROGRAMME = "YC-HARDSHIP"  # demo: hardship category, levels 2–3


async def _codes(session: AsyncSession, member: Member) -> set[str]:
    facts = member_facts(member)
    return {b.code for b in await member_benefits(session, member=facts, at=datetime.now(UTC))}


async def test_approval_one_level_up_switches_eligibility_on_and_expiry_off(
    session: AsyncSession, demo: dict, tmp_path: Path
) -> None:
    member = await member_in(session, "XL-JIDIAN")
    grassroots, district = await staff(session, "xl.jidian"), await staff(session, "xl.admin")
    assert HARDSHIP_PROGRAMME not in await _codes(session, member)
    now = datetime.now(UTC)
    today = now.date()
    rec = await hs.apply(
        session,
        grassroots,
        member,
        category=HardshipCategory.deep,
        level=2,
        circumstances="下岗,子女上学",
        now=now,
    )
    assert rec.status == HardshipStatus.pending
    # The member's own union may apply but not approve.
    with pytest.raises(Forbidden) as exc:
        await hs.approve(session, grassroots, rec, now=now, today=today, review_days=365)
    assert exc.value.code == "hardship_wrong_level"
    # A second open record for the same member is refused.
    with pytest.raises(Conflict):
        await hs.apply(
            session,
            grassroots,
            member,
            category=HardshipCategory.deep,
            level=1,
            circumstances="x",
            now=now,
        )
    await hs.approve(session, district, rec, now=now, today=today, review_days=30)
    assert rec.review_on == today + timedelta(days=30)
    assert "hardship" in member.categories and member.hardship_level == 2
    await session.commit()
    await session.refresh(member)
    await session.refresh(rec)
    assert HARDSHIP_PROGRAMME in await _codes(session, member)

    # The day after the review date, unreviewed: expired and the programme closes again.
    settings = make_test_settings("sqlite://", tmp_path)
    on_review_day = datetime(
        rec.review_on.year, rec.review_on.month, rec.review_on.day, 4, tzinfo=UTC
    )
    assert (await sweep_once(session, settings, now=on_review_day))["hardship_expired"] == 0
    counts = await sweep_once(session, settings, now=on_review_day + timedelta(days=1))
    assert counts["hardship_expired"] == 1
    await session.commit()
    await session.refresh(rec)
    await session.refresh(member)
    assert rec.status == HardshipStatus.expired
    assert "hardship" not in member.categories and member.hardship_level is None
    assert HARDSHIP_PROGRAMME not in await _codes(session, member)
    assert (await sweep_once(session, settings, now=on_review_day + timedelta(days=2)))[
        "hardship_expired"
    ] == 0


async def test_review_extends_and_revoke_ends(session: AsyncSession, demo: dict) -> None:
    member = await member_in(session, "XL-HOSPITAL")
    city = await staff(session, "yc.admin")  # above the district: may decide as well
    now = datetime.now(UTC)
    rec = await hs.apply(
        session,
        city,
        member,
        category=HardshipCategory.accident,
        level=3,
        circumstances="工伤",
        now=now,
    )
    await hs.approve(session, city, rec, now=now, today=now.date(), review_days=10)
    await hs.review(session, city, rec, now=now, today=now.date(), review_days=365, level=1)
    assert rec.review_on == now.date() + timedelta(days=365) and member.hardship_level == 1
    with pytest.raises(AppError):
        await hs.review(
            session,
            city,
            rec,
            now=now,
            today=now.date(),
            review_days=365,
            review_on=now.date(),
        )
    await hs.revoke(session, city, rec, now=now, reason="已再就业")
    assert rec.status == HardshipStatus.revoked and member.hardship_level is None


async def test_records_are_sensitive_and_reads_are_audited(
    session: AsyncSession, demo: dict
) -> None:
    member = await member_in(session, "XL-JIDIAN")
    now = datetime.now(UTC)
    rec = await hs.apply(
        session,
        await staff(session, "xl.jidian"),
        member,
        category=HardshipCategory.relative,
        level=1,
        circumstances="x",
        now=now,
    )
    await session.commit()
    # Roles that do not handle hardship see nothing, not even in their subtree.
    for username in ("hb.auditor", "yc.benefits", "wjg.admin"):
        with pytest.raises(NotFound):
            await hs.get_record(session, await staff(session, username), rec.id)
    with pytest.raises(Forbidden):
        await hs.list_records(
            session,
            await staff(session, "hb.auditor"),
            status=None,
            org_id=None,
            member_id=None,
            awaiting_me=False,
            limit=10,
            offset=0,
        )
    reader = await staff(session, "xl.admin")
    await hs.get_record(session, reader, rec.id)
    rows, _total = await hs.list_records(
        session,
        reader,
        status=None,
        org_id=None,
        member_id=None,
        awaiting_me=True,
        limit=10,
        offset=0,
    )
    assert rec.id in {r.id for r in rows}
    await session.flush()
    audit = list(
        await session.scalars(
            select(AuditEntry).where(
                AuditEntry.actor_name == "xl.admin", AuditEntry.action.startswith("hardship.")
            )
        )
    )
    assert {a.action for a in audit} == {"hardship.read", "hardship.list"}
    listed = next(a for a in audit if a.action == "hardship.list")
    assert str(rec.id) in listed.summary["ids"]
