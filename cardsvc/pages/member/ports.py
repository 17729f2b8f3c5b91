"""What the member pages need from the benefits engine and the merchants, without importing them.

``cardsvc`` may import ``benefits`` and ``merchants`` only in its composition root
(import-linter), so the composition root hands the engine's functions and the name lookups to
:func:`member_benefits_provider`, which Litestar then provides as ``member_benefits_view``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.clock import utc_now
from cardsvc.members.models import Member

NameLookup = Callable[[AsyncSession, Sequence[uuid.UUID]], Awaitable[dict[uuid.UUID, str]]]


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


@dataclass(frozen=True, slots=True)
class BenefitsFunctions:
    """The engine's member functions and the name lookups, given by the composition root."""

    facts: Callable[[Member], Any]  # Member → benefits.rules.facts.MemberFacts
    member_benefits: Callable[..., Awaitable[list[Any]]]  # benefits.public.member_benefits
    list_redemptions: Callable[..., Awaitable[list[Any]]]  # benefits.public.list_redemptions
    program_names: NameLookup
    merchant_names: NameLookup
    store_names: NameLookup


class MemberBenefitsView:
    """A member's programmes (what is left this period) and redemption history."""

    def __init__(self, session: AsyncSession, fns: BenefitsFunctions) -> None:
        self._session = session
        self._fns = fns

    async def benefits(self, member: Member) -> list[Any]:
        """``benefits.engine.results.MemberBenefit`` rows: the same data as ``GET /api/v1/me/benefits``."""
        return await self._fns.member_benefits(
            self._session, member=self._fns.facts(member), at=utc_now()
        )

    async def history(self, member: Member, *, limit: int, offset: int) -> list[HistoryLine]:
        rows = await self._fns.list_redemptions(
            self._session, member_id=member.id, limit=limit, offset=offset
        )
        programs = await self._fns.program_names(self._session, list({r.program_id for r in rows}))
        merchants = await self._fns.merchant_names(
            self._session, list({r.merchant_id for r in rows})
        )
        stores = await self._fns.store_names(
            self._session, list({r.store_id for r in rows if r.store_id})
        )
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


def member_benefits_provider(
    fns: BenefitsFunctions,
) -> Callable[[AsyncSession], Awaitable[MemberBenefitsView]]:
    """The Litestar provider of ``member_benefits_view``."""

    async def provide_member_benefits_view(db_session: AsyncSession) -> MemberBenefitsView:
        return MemberBenefitsView(db_session, fns)

    return provide_member_benefits_view
