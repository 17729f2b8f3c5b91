"""附近: stores near a member, each with the programmes this member can use there and what is
left, answered as a scan at that store would answer (``benefits.public.quote_at_stores``, the
engine's eligibility, scope and limits on the terminal's own point-of-sale builder)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from benefits.public import (
    MemberFacts,
    ProgramQuote,
    ProgramRefusal,
    counter_prefetch,
    quote_at_stores,
)
from cardsvc.kernel.db import driver_connection, engine_of
from merchants.public import (
    Near,
    NearbyStore,
    Rider,
    near,
    near_with,
    one_store,
    store_context,
)

# Usable with a bill (a minimum spend is not a refusal before there is one), or used up now.
_LATER = frozenset({"below_min_spend"})
_USED_UP = frozenset({"quota_exhausted", "budget_exhausted"})


@dataclass(frozen=True, slots=True)
class StoreOffers:
    store: NearbyStore
    usable: tuple[ProgramQuote, ...]  # usable now, each with its limits' remaining amounts
    with_min_spend: tuple[ProgramRefusal, ...]  # usable with a large enough bill
    used_up: tuple[ProgramRefusal, ...]  # in scope here, nothing left this period


async def offers_at(
    session: AsyncSession,
    member: MemberFacts,
    stores: list[NearbyStore],
    *,
    at: datetime,
    pg: Any | None = None,
    known: Mapping[tuple[Any, ...], int | None] | None = None,
) -> list[StoreOffers]:
    quotes = await quote_at_stores(
        session,
        member=member,
        merchants=[store_context(s) for s in stores],
        at=at,
        pg=pg,
        known=known,
    )
    return [
        StoreOffers(
            store=s,
            usable=q.applicable,
            with_min_spend=tuple(r for r in q.not_applicable if r.error_code in _LATER),
            used_up=tuple(r for r in q.not_applicable if r.error_code in _USED_UP),
        )
        for s, q in zip(stores, quotes, strict=True)
    ]


async def nearby(
    session: AsyncSession,
    member: MemberFacts,
    q: Near,
    *,
    at: datetime,
    zone: ZoneInfo,
    program_id: uuid.UUID | None = None,
    pg: Any | None = None,
) -> tuple[list[StoreOffers], bool]:
    """The page of stores nearest ``q``'s point with this member's offers; with ``program_id``
    only the stores (of the page) where that programme is usable ("where to use"). ``pg``: the
    request's asyncpg connection, if it holds one already (else one of the engine's)."""
    if pg is None:
        async with driver_connection(engine_of(session)) as own:
            out, more = await _page(session, member, q, at, zone, own)
    else:
        out, more = await _page(session, member, q, at, zone, pg)
    if program_id is not None:
        out = [
            o
            for o in out
            if any(p.program_id == program_id for p in o.usable)
            or any(r.program_id == program_id for r in o.with_min_spend)
        ]
    return out, more


async def _page(
    session: AsyncSession, member: MemberFacts, q: Near, at: datetime, zone: ZoneInfo, pg: Any
) -> tuple[list[StoreOffers], bool]:
    # PostgreSQL: on the driver's connection (the session's layers cost more CPU than the
    # round trips on a page this hot), the member's own counters and the budgets read by the
    # search statement itself; the quotes read only the counters of a store's merchant, if any
    # limit has them. SQLite: on the session.
    if pg is None:
        stores, more = await near(session, q, at=at, zone=zone)
        return await offers_at(session, member, stores, at=at), more
    ahead = await counter_prefetch(pg, member, at)
    if not ahead.keys:
        stores, more = await near(session, q, at=at, zone=zone, pg=pg)
        return await offers_at(session, member, stores, at=at, pg=pg), more
    stores, more, used = await near_with(pg, q, Rider(ahead.sql, ahead.args), at=at, zone=zone)
    known = None if used is None else ahead.known(used)
    return await offers_at(session, member, stores, at=at, pg=pg, known=known), more


async def store_offers(
    session: AsyncSession, member: MemberFacts, store_id: uuid.UUID, *, at: datetime, zone: ZoneInfo
) -> StoreOffers | None:
    s = await one_store(session, store_id, at=at, zone=zone)
    if s is None:
        return None
    return (await offers_at(session, member, [s], at=at))[0]
