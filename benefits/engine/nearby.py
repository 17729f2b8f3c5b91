"""What a member can use at each of several stores: a scan's quote at each point of sale (no
bill yet), from the same candidates, checks and limits as ``quote``, with the programmes and
every counter read once for all the stores."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from benefits.engine.quote import (
    Candidate,
    _counter_keys,
    _live,
    _passing,
    candidates,
    finish_quote,
    read_counters,
)
from benefits.engine.results import Quote
from benefits.engine.statements import PgStatements
from benefits.engine.txn import Db, as_utc, read_connection
from benefits.rules.facts import MemberFacts, MerchantContext


async def _at_each(
    conn: Any,
    cands: list[Candidate],
    member: MemberFacts,
    merchants: Sequence[MerchantContext],
    at: datetime,
) -> list[Quote]:
    staged = []
    keys = []
    for m in merchants:
        refusals: list[Any] = []
        passing = _passing(
            cands,
            refusals,
            member=member,
            merchant=m,
            amount_fen=0,
            units=1,
            at=at,
            ignore_status=False,
        )
        staged.append((m, passing, refusals))
        keys += _counter_keys(passing, member=member, merchant=m, at=at)
    used = await read_counters(conn, keys)
    return [
        await finish_quote(
            passing, refusals, used, member=member, merchant=m, amount_fen=0, units=1, at=at
        )
        for m, passing, refusals in staged
    ]


async def quote_at_stores(
    db: Db,
    *,
    member: MemberFacts,
    merchants: Sequence[MerchantContext],
    at: datetime | None = None,
    pg: Any | None = None,
) -> list[Quote]:
    """One quote per point of sale, in order, as a scan there without an amount would answer.
    ``pg``: an asyncpg connection to read on (as ``quote``'s)."""
    at = as_utc(at)
    if not merchants:
        return []
    if pg is not None:
        st = PgStatements(pg)
        return await _at_each(st, await _live(st, member.org_path), member, merchants, at)
    async with read_connection(db) as conn:
        cands = await candidates(
            conn, member_org_path=member.org_path, program_ids=None, include_drafts=False
        )
        return await _at_each(conn, cands, member, merchants, at)
