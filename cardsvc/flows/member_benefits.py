"""A member's benefits as the member sees them: what is left this period (the engine, from the
member's facts) and the redemption history with programme, merchant and store names.

``GET /api/v1/me/benefits`` and the member pages use these functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from benefits.coalesce import Coalescer, for_engine
from benefits.engine.results import MemberBenefit
from benefits.public import list_redemptions, member_benefits, program_names
from benefits.rules.facts import MemberFacts
from cardsvc.cards.lookup import MEMBER_FACT_COLUMNS
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.db import asyncpg_sql, driver_connection, engine_of
from cardsvc.memberauth.sessions import member_for_phone
from cardsvc.members.models import Member, MemberStatus
from merchants.public import facts_from_row, merchant_names, store_names


def member_facts(m: Member) -> MemberFacts:
    """What the engine's eligibility rules read about a member: the terminal's own builder
    over the same columns, so the member's view and the simulator see what a scan sees."""
    return facts_from_row(m.id, tuple(getattr(m, c.key) for c in MEMBER_FACT_COLUMNS))


# ``member_for_phone``'s choice (a current membership before one that has ended, the newest
# first) with only what eligibility reads.
_FACTS_BY_PHONE = (
    select(Member.id, *MEMBER_FACT_COLUMNS)
    .where(Member.phone_hash == bindparam("ph"))
    .order_by(Member.status == bindparam("left"), Member.created_at.desc())
)
_CATEGORIES = [c.key for c in MEMBER_FACT_COLUMNS].index("categories")


async def member_facts_for_phone(
    session: AsyncSession, phone_hash: str, *, pg: Any | None = None
) -> MemberFacts | None:
    """:func:`member_facts` of the membership :func:`~cardsvc.memberauth.sessions.member_for_phone`
    picks (a current one before one that has ended), without loading the member: on PostgreSQL
    one prepared statement on the driver's connection (``pg``, or one of its own), outside any
    transaction, so that a hot path (附近, a voucher claim storm) never begins one on its
    session."""
    if pg is None:
        async with driver_connection(engine_of(session)) as own:
            if own is None:
                member = await member_for_phone(session, phone_hash)
                return None if member is None else member_facts(member)
            return await member_facts_for_phone(session, phone_hash, pg=own)
    sql, names = asyncpg_sql(_FACTS_BY_PHONE)
    args = {"ph": phone_hash, "left": MemberStatus.left.value}
    row = await pg.fetchrow(sql, *[args[n] for n in names])
    return None if row is None else _facts(row)


def _facts(row: Any) -> MemberFacts:
    """Facts from a driver row: the member's id, then :data:`MEMBER_FACT_COLUMNS`."""
    facts = list(row[1:])
    if isinstance(facts[_CATEGORIES], str):  # JSON as text, should no codec decode it
        facts[_CATEGORIES] = json.loads(facts[_CATEGORIES])
    return facts_from_row(row[0], facts)


# The same choice for many phones in one statement: DISTINCT ON keeps each phone's first row.
_FACTS_BY_PHONES = (
    select(Member.phone_hash, Member.id, *MEMBER_FACT_COLUMNS)
    .where(Member.phone_hash == any_(bindparam("phs", type_=ARRAY(String))))
    .order_by(Member.phone_hash, Member.status == bindparam("left"), Member.created_at.desc())
    .distinct(Member.phone_hash)
)
_BATCH_PHONES = 200  # phones per statement
_FLUSHES = 1  # one statement in flight per engine and process: the next takes all who came


async def _read_facts(engine: AsyncEngine, phones: list[str]) -> list[MemberFacts | None]:
    sql, names = asyncpg_sql(_FACTS_BY_PHONES)
    args: dict[str, Any] = {"phs": phones, "left": MemberStatus.left.value}
    async with driver_connection(engine) as pg:
        if pg is None:  # made for asyncpg engines only (coalesced_member_facts)
            raise RuntimeError("member facts are coalesced on asyncpg only")
        rows = await pg.fetch(sql, *[args[n] for n in names])
    found = {row[0]: _facts(row[1:]) for row in rows}
    return [found.get(phone) for phone in phones]


_readers: dict[int, Coalescer[str, MemberFacts | None]] = {}


async def coalesced_member_facts(session: AsyncSession, phone_hash: str) -> MemberFacts | None:
    """:func:`member_facts_for_phone`, but on PostgreSQL the lookups of this process's
    concurrent requests share one statement (a voucher claim storm: one round trip and one
    pooled connection for a batch of members instead of each)."""
    engine = engine_of(session)
    if engine.dialect.driver != "asyncpg":
        return await member_facts_for_phone(session, phone_hash)
    reader = for_engine(
        _readers,
        engine,
        lambda: Coalescer(engine, _read_facts, batch=_BATCH_PHONES, flushes=_FLUSHES),
    )
    return await reader.submit(phone_hash)


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
