"""Lottery campaigns: members apply during the window; after it a draw picks the winners with
the published algorithm (``benefits.rules.draw``) and the seed committed to at creation.

Anyone shown the record (``draw_record``: the commitment, the applicants' pseudonyms, and after
the draw the seed and the winners) recomputes ``draw(seed, applicants, stock)`` and checks
``commitment(seed)``. A member applies once (unique per campaign), so nobody wins twice; each
winner gets one voucher row (slot = place in the draw) and its ``voucher_slot``, the same rows
a first-come claim makes. The applicants' pseudonyms are read from ``draw_entry`` (one
campaign's rows together under Citus), written with each application.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7 as _new_id

from benefits.errors import InvalidTransition
from benefits.rules.draw import draw
from benefits.rules.eligibility import in_subtree
from benefits.rules.facts import MemberFacts
from benefits.vouchers.campaigns import CampaignView, campaign_not_found, get_campaign
from benefits.vouchers.claims import ClaimRefused, check_member, refusal
from benefits.vouchers.models import (
    Application,
    Campaign,
    DrawEntry,
    Voucher,
    VoucherSlot,
    VoucherStatus,
)

_A = cast(Table, Application.__table__)
_C = cast(Table, Campaign.__table__)
_V = cast(Table, Voucher.__table__)
_S = cast(Table, VoucherSlot.__table__)
_D = cast(Table, DrawEntry.__table__)


@dataclass(frozen=True, slots=True)
class DrawRecord:
    campaign_id: uuid.UUID
    commitment: str
    k: int
    applicants: list[str] | None  # sorted pseudonyms, once the window has closed
    seed: str | None  # once drawn
    winners: list[str] | None  # in draw order, once drawn
    drawn_at: datetime | None


def _lottery(c: CampaignView) -> None:
    if c.mode != "lottery":
        raise ClaimRefused("voucher_not_lottery", "本活动不需报名，请直接领取", "Claim directly")


async def apply(
    db: AsyncSession, campaign_id: uuid.UUID, member: MemberFacts, at: datetime
) -> tuple[str, bool]:
    """Enter the member into the draw; (pseudonym, new). Applying again changes nothing."""
    c = await get_campaign(db, campaign_id)
    if c.status == "draft":
        raise campaign_not_found(c.id)
    check_member(c, member, at)
    _lottery(c)
    if at < c.opens_at:
        raise refusal("not_open")
    if at >= c.closes_at or c.status != "published":
        raise refusal("closed")
    conn = await db.connection()
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    # The pseudonym first, in draw_entry (unique per campaign there): random, so a clash is
    # all but impossible; one draws another.
    while True:
        pseudonym = secrets.token_hex(8)
        entry = {"campaign_id": c.id, "pseudonym": pseudonym, "member_id": member.id}
        took = await conn.execute(
            dialect.insert(_D).values(**entry).on_conflict_do_nothing().returning(_D.c.pseudonym)
        )
        if took.scalar() is not None:
            break
    values = entry | {"id": _new_id(), "applied_at": at}
    made = await conn.execute(
        dialect.insert(_A).values(**values).on_conflict_do_nothing().returning(_A.c.id)
    )
    new = made.scalar() is not None
    if not new:  # applied before: that entry stands, this one goes
        await conn.execute(delete(_D).where(_D.c.campaign_id == c.id, _D.c.pseudonym == pseudonym))
    mine = await conn.scalar(
        select(_A.c.pseudonym).where(_A.c.campaign_id == c.id, _A.c.member_id == member.id)
    )
    await db.commit()
    return str(mine), new


async def draw_campaign(db: AsyncSession, campaign_id: uuid.UUID, at: datetime) -> DrawRecord:
    """Draw the winners of a closed lottery and give each a voucher; the seed is published."""
    c = await get_campaign(db, campaign_id)
    _lottery(c)
    if c.status != "published" or c.drawn_at is not None or at < c.closes_at:
        raise InvalidTransition(
            message_zh="只能在报名结束后对已发布且未开奖的活动开奖",
            message_en="Only a published lottery whose window has closed can be drawn, once",
            current_status=c.status,
            action="draw",
        )
    assert c.seed is not None
    conn = await db.connection()
    rows = (
        await conn.execute(select(_D.c.pseudonym, _D.c.member_id).where(_D.c.campaign_id == c.id))
    ).all()
    member_of = {r.pseudonym: r.member_id for r in rows}
    winners = draw(c.seed, member_of, c.stock)
    terms = c.parsed
    for place, pseudonym in enumerate(winners):
        voucher_id, winner = _new_id(), member_of[pseudonym]
        await conn.execute(
            _V.insert().values(
                id=voucher_id,
                campaign_id=c.id,
                member_id=winner,
                slot=place,
                nth=0,
                request_key=f"draw-{pseudonym}",
                status=VoucherStatus.active,
                claimed_at=at,
                expires_at=terms.expiry(at),
            )
        )
        await conn.execute(
            _S.insert().values(
                campaign_id=c.id, slot=place, member_id=winner, voucher_id=voucher_id
            )
        )
    await conn.execute(update(_C).where(_C.c.id == c.id).values(drawn_at=at))
    return await draw_record(db, campaign_id, at)


async def draw_record(db: AsyncSession, campaign_id: uuid.UUID, at: datetime) -> DrawRecord:
    """What is published: the commitment always; the applicants once the window has closed;
    the seed and the winners once drawn."""
    c = await get_campaign(db, campaign_id)
    _lottery(c)
    assert c.commitment is not None
    conn = await db.connection()
    applicants = None
    if at >= c.closes_at:
        applicants = sorted(
            (await conn.scalars(select(_D.c.pseudonym).where(_D.c.campaign_id == c.id))).all()
        )
    drawn = c.drawn_at is not None and c.seed is not None
    winners = draw(c.seed, applicants or [], c.stock) if drawn and c.seed else None
    return DrawRecord(
        c.id, c.commitment, c.stock, applicants, c.seed if drawn else None, winners, c.drawn_at
    )


async def member_draw_record(
    db: AsyncSession, campaign_id: uuid.UUID, member: MemberFacts, at: datetime
) -> DrawRecord:
    """The record as a member of the owner's subtree sees it (others: not found)."""
    c = await get_campaign(db, campaign_id)
    if c.status == "draft" or not in_subtree(member.org_path, c.owner_org_path):
        raise campaign_not_found(campaign_id)
    return await draw_record(db, campaign_id, at)


@dataclass(frozen=True, slots=True)
class MyEntry:
    """A lottery the member entered: ``won`` is None until the draw."""

    campaign: CampaignView
    pseudonym: str
    applied_at: datetime
    won: bool | None


async def my_entries(db: AsyncSession, member_id: uuid.UUID, *, limit: int = 50) -> list[MyEntry]:
    """The lotteries the member entered, newest first, each with its result once drawn."""
    conn = await db.connection()
    rows = (
        await conn.execute(
            select(_A.c.campaign_id, _A.c.pseudonym, _A.c.applied_at)
            .where(_A.c.member_id == member_id)
            .order_by(_A.c.applied_at.desc())
            .limit(limit)
        )
    ).all()
    if not rows:
        return []
    won = set(
        (
            await conn.scalars(
                select(_V.c.campaign_id).where(
                    _V.c.member_id == member_id,
                    _V.c.campaign_id.in_([r.campaign_id for r in rows]),
                )
            )
        ).all()
    )
    out = []
    for r in rows:
        c = await get_campaign(db, r.campaign_id)
        result = None if c.drawn_at is None else r.campaign_id in won
        out.append(MyEntry(c, r.pseudonym, r.applied_at, result))
    return out
