"""What a member saved: this year's total of their discounts, and the redemptions made since a
moment (the card page's "核销成功" notice), from the benefits ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from benefits.public import list_redemptions, program_names
from cardsvc.kernel.clock import utc_now
from cardsvc.members.models import Member
from merchants.public import merchant_names

_PAGE = 1000


@dataclass(frozen=True, slots=True)
class Savings:
    year: int
    saved_fen: int  # discounts of the year's redemptions, voided ones left out
    redemptions: int


@dataclass(frozen=True, slots=True)
class Redeemed:
    """One checkout at a till: what the member saved there."""

    checkout_id: str
    occurred_at: datetime
    merchant: str
    programmes: list[str]
    saved_fen: int


def year_start(now: datetime, zone: str) -> datetime:
    local = now.astimezone(ZoneInfo(zone))
    return local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


async def saved_this_year(session: AsyncSession, member: Member, *, zone: str) -> Savings:
    now = utc_now()
    since = year_start(now, zone)
    saved = count = 0
    offset = 0
    while True:
        rows = await list_redemptions(
            session, member_id=member.id, since=since, limit=_PAGE, offset=offset
        )
        for r in rows:
            if r.reversed_at is None:
                saved += r.discount_fen
                count += 1
        if len(rows) < _PAGE:
            return Savings(since.year, saved, count)
        offset += _PAGE


async def redeemed_since(session: AsyncSession, member: Member, since: datetime) -> Redeemed | None:
    """The member's latest checkout after ``since`` (not voided), or None."""
    rows = await list_redemptions(session, member_id=member.id, since=since, limit=50)
    live = [r for r in rows if r.reversed_at is None and r.occurred_at > since]
    if not live:
        return None
    latest = live[0].redemption_id  # newest first
    lines = [r for r in live if r.redemption_id == latest]
    names = await program_names(session, list({r.program_id for r in lines}))
    merchants = await merchant_names(session, [lines[0].merchant_id])
    return Redeemed(
        checkout_id=str(latest),
        occurred_at=max(r.occurred_at for r in lines),
        merchant=merchants.get(lines[0].merchant_id, ""),
        programmes=[names.get(r.program_id, r.program_code) for r in lines],
        saved_fen=sum(r.discount_fen for r in lines),
    )
