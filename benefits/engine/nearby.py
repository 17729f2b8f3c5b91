"""What a member can use at each of several stores: a scan's quote at each point of sale (no
bill yet), from the same candidates, checks and limits as ``quote``, with the programmes and
every counter read once for all the stores.

On PostgreSQL the counters that do not depend on the store (the member's own, the programmes'
budgets) can ride on a statement the caller sends anyway (:func:`counter_prefetch`): the quotes
then read only what that statement did not cover.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from benefits.engine.counter_sql import key_columns
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
from benefits.rules.limits import counter_key

CounterRow = tuple[Any, ...]  # (program_id, policy_key, metric, scope_key, period_key)

# The counters' ``used`` in the order of the keys given (NULL: no such counter yet), as one
# scalar subquery: evaluated once per statement, whatever statement carries it. ``{5}`` is the
# member ids (NULL for the counters shared by members): a member's own counter is found in its
# table by its key, which starts with the member (benefits.engine.counter_sql).
_USED_IN_ORDER = (
    "ARRAY(SELECT coalesce(c.used, mc.used) FROM unnest({0}::uuid[], {1}::varchar[], "
    "{2}::varchar[], {3}::varchar[], {4}::varchar[], {5}::uuid[]) WITH ORDINALITY "
    "AS k(program_id, policy_key, metric, scope_key, period_key, member_id, n) "
    "LEFT JOIN benefit_counter c ON k.member_id IS NULL AND (c.program_id, c.policy_key, "
    "c.metric, c.scope_key, c.period_key) = (k.program_id, k.policy_key, k.metric, "
    "k.scope_key, k.period_key) "
    "LEFT JOIN benefit_member_counter mc ON (mc.member_id, mc.program_id, mc.policy_key, "
    "mc.metric, mc.scope_key, mc.period_key) = (k.member_id, k.program_id, k.policy_key, "
    "k.metric, k.scope_key, k.period_key) "
    "ORDER BY k.n)"
)


class _Recorder(PgStatements):
    """Collects the rows ``read_counters`` would ask for (its stripes included), reads none."""

    def __init__(self, driver: Any) -> None:
        super().__init__(driver)
        self.rows: list[CounterRow] = []

    async def counters(self, keys: Sequence[CounterRow]) -> Sequence[Any]:
        self.rows += keys
        return []


class _Known(PgStatements):
    """Answers from counters read beforehand; only the keys they did not cover go to the DB."""

    def __init__(self, driver: Any, known: Mapping[CounterRow, int | None]) -> None:
        super().__init__(driver)
        self.known = known

    async def counters(self, keys: Sequence[CounterRow]) -> Sequence[Any]:
        rows: list[Any] = []
        missing: list[CounterRow] = []
        for k in keys:
            if k not in self.known:
                missing.append(k)
            elif (used := self.known[k]) is not None:
                rows.append((*k, used))
        return rows + list(await super().counters(missing)) if missing else rows


@dataclass(frozen=True, slots=True)
class CounterPrefetch:
    """Counters a quote at any store reads for this member now, to be read by another statement:
    ``sql`` (``{0}``…``{5}`` for the placeholders of ``args``) is an array of their ``used``."""

    keys: tuple[CounterRow, ...]
    sql: str = _USED_IN_ORDER

    @property
    def args(self) -> tuple[list[Any], ...]:
        return tuple(key_columns(self.keys))

    def known(self, used: Sequence[int | None]) -> dict[CounterRow, int | None]:
        """The answers, to pass to :func:`quote_at_stores` (``None``: no such counter yet)."""
        return dict(zip(self.keys, used, strict=True))


async def counter_prefetch(pg: Any, member: MemberFacts, at: datetime) -> CounterPrefetch:
    """The store-independent counters of the programmes live for the member (on an asyncpg
    connection; the live programmes come from the per-worker cache, or one read)."""
    at = as_utc(at)
    recorder = _Recorder(pg)
    keys = [
        k
        for c in await _live(PgStatements(pg), member.org_path)
        if c.compiled is not None
        for p in c.compiled.policies
        if (
            k := counter_key(
                c.id, p, member_id=member.id, merchant_id=None, at=at, tz=c.compiled.tz
            )
        )
    ]
    await read_counters(recorder, keys)
    return CounterPrefetch(tuple(dict.fromkeys(recorder.rows)))


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
    known: Mapping[CounterRow, int | None] | None = None,
) -> list[Quote]:
    """One quote per point of sale, in order, as a scan there without an amount would answer.
    ``pg``: an asyncpg connection to read on (as ``quote``'s); ``known``: counters read with
    another statement (:meth:`CounterPrefetch.known`), read again only if not there."""
    at = as_utc(at)
    if not merchants:
        return []
    if pg is not None:
        st = PgStatements(pg) if known is None else _Known(pg, known)
        return await _at_each(st, await _live(st, member.org_path), member, merchants, at)
    async with read_connection(db) as conn:
        cands = await candidates(
            conn, member_org_path=member.org_path, program_ids=None, include_drafts=False
        )
        return await _at_each(conn, cands, member, merchants, at)
