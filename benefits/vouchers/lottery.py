"""Lottery campaigns: members apply during the window; after it a draw picks the winners with
the published algorithm (``benefits.rules.draw``) and the seed committed to at creation.

Anyone shown the record (``draw_record``: the commitment, the applicants' pseudonyms, and after
the draw the seed and the winners) recomputes ``draw(seed, applicants, stock)`` and checks
``commitment(seed)``. A member applies once (unique per campaign), so nobody wins twice; each
winner gets one voucher row (slot = place in the draw), the same rows a first-come claim makes.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7 as _new_id

from benefits.errors import InvalidTransition
from benefits.rules.draw import draw
from benefits.rules.eligibility import in_subtree
from benefits.rules.facts import MemberFacts
from benefits.vouchers.campaigns import CampaignView, campaign_not_found, get_campaign
from benefits.vouchers.claims import ClaimRefused, check_member, refusal
from benefits.vouchers.models import Application, Campaign, Voucher, VoucherStatus

_A = cast(Table, Application.__table__)
_C = cast(Table, Campaign.__table__)
_V = cast(Table, Voucher.__table__)


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
    ins = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(_A)
    values = {
        "id": _new_id(),
        "campaign_id": c.id,
        "member_id": member.id,
        "pseudonym": secrets.token_hex(8),
        "applied_at": at,
    }
    made = await conn.execute(ins.values(**values).on_conflict_do_nothing().returning(_A.c.id))
    new = made.scalar() is not None
    pseudonym = await conn.scalar(
        select(_A.c.pseudonym).where(_A.c.campaign_id == c.id, _A.c.member_id == member.id)
    )
    await db.commit()
    return str(pseudonym), new


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
        await conn.execute(select(_A.c.pseudonym, _A.c.member_id).where(_A.c.campaign_id == c.id))
    ).all()
    member_of = {r.pseudonym: r.member_id for r in rows}
    winners = draw(c.seed, member_of, c.stock)
    terms = c.parsed
    for place, pseudonym in enumerate(winners):
        await conn.execute(
            _V.insert().values(
                id=_new_id(),
                campaign_id=c.id,
                member_id=member_of[pseudonym],
                slot=place,
                nth=0,
                request_key=f"draw-{pseudonym}",
                status=VoucherStatus.active,
                claimed_at=at,
                expires_at=terms.expiry(at),
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
            (await conn.scalars(select(_A.c.pseudonym).where(_A.c.campaign_id == c.id))).all()
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
