"""A member's benefits as the member sees them: what is left this period (the engine, from the
member's facts) and the redemption history with programme, merchant and store names.

``GET /api/v1/me/benefits`` and the member pages use these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from benefits.engine.results import MemberBenefit
from benefits.public import list_redemptions, member_benefits, program_names
from benefits.rules.facts import MemberFacts
from cardsvc.cards.lookup import MEMBER_FACT_COLUMNS
from cardsvc.kernel.clock import utc_now
from cardsvc.members.models import Member
from merchants.public import facts_from_row, merchant_names, store_names


def member_facts(m: Member) -> MemberFacts:
    """What the engine's eligibility rules read about a member: the terminal's own builder
    over the same columns, so the member's view and the simulator see what a scan sees."""
    return facts_from_row(m.id, tuple(getattr(m, c.key) for c in MEMBER_FACT_COLUMNS))


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One programme used at one checkout, as the member sees it."""

    occurred_at: datetime
    program_code: str
    program_name: str
    merchant: str
    store: str
    amount_fen: int
    discount_fen: int
    subsidy_fen: int
    units: int
    reversed_at: datetime | None


async def my_benefits(session: AsyncSession, member: Member) -> list[MemberBenefit]:
    """The programmes the member can use and what is left this period."""
    return await member_benefits(session, member=member_facts(member), at=utc_now())


async def my_history(
    session: AsyncSession, member: Member, *, limit: int, offset: int
) -> list[HistoryLine]:
    """The member's redemptions, newest first, with the names a person reads."""
    rows = await list_redemptions(session, member_id=member.id, limit=limit, offset=offset)
    programs = await program_names(session, list({r.program_id for r in rows}))
    merchants = await merchant_names(session, list({r.merchant_id for r in rows}))
    stores = await store_names(session, list({r.store_id for r in rows if r.store_id}))
    return [
        HistoryLine(
            occurred_at=r.occurred_at,
            program_code=r.program_code,
            program_name=programs.get(r.program_id, r.program_code),
            merchant=merchants.get(r.merchant_id, ""),
            store=stores.get(r.store_id, "") if r.store_id else "",
            amount_fen=r.amount_fen,
            discount_fen=r.discount_fen,
            subsidy_fen=r.subsidy_fen,
            units=r.units,
            reversed_at=r.reversed_at,
        )
        for r in rows
    ]
