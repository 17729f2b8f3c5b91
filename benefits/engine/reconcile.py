"""Rebuild counters from the ledger and report drift.

The ledger is the truth: each redemption row records the exact counters it charged (``takes``)
and a reversal cancels its row. A counter should hold the sum of the takes of the redemptions
that are not reversed. ``reconcile`` compares, reports every difference, and (with ``fix``)
sets the counters to the ledger's figures, creating missing ones.

Both counter tables are compared: ``benefit_counter`` and the members' own,
``benefit_member_counter``. While it runs on PostgreSQL both are locked against writes (SHARE
ROW EXCLUSIVE: readers go on, redemptions and reversals wait a moment), so that no redemption
can charge a counter between the ledger read and the fix. SQLite serialises writers anyway.

Budget stripes (:mod:`benefits.engine.counters`) are counters of their own: each stripe row is
compared with the takes the ledger recorded on that stripe; a missing stripe is recreated with
its share of the limit and the counter's layout (``T`` in the takes).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import cast

from sqlalchemy import Table, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection
from uuid_utils.compat import uuid7

from benefits.engine.counters import share, stripe_index
from benefits.engine.results import CounterDrift, ReconcileReport
from benefits.engine.txn import Db, write_transaction
from benefits.models import Counter, MemberCounter, Redemption, Reversal
from benefits.rules.limits import CounterKey, member_of

# Declarative models map a Table; SQLAlchemy types ``__table__`` as the wider FromClause.
_C = cast(Table, Counter.__table__)
_MC = cast(Table, MemberCounter.__table__)
_KEY = ("program_id", "policy_key", "metric", "scope_key", "period_key")
_R = cast(Table, Redemption.__table__)
_RV = cast(Table, Reversal.__table__)


async def reconcile(
    db: Db, *, program_id: uuid.UUID | None = None, fix: bool = True
) -> ReconcileReport:
    """Compare every counter (of one programme, or all) with the ledger; fix if asked."""
    async with write_transaction(db) as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(
                text(
                    "LOCK TABLE benefit_counter, benefit_member_counter IN SHARE ROW EXCLUSIVE MODE"
                )
            )
        expected, limits, redemptions = await _ledger(conn, program_id)
        drifts: list[CounterDrift] = []
        seen: set[CounterKey] = set()
        checked = 0
        for table in (_C, _MC):
            cols = [table.c[n] for n in ("id", *_KEY)]
            cstmt = select(*cols, table.c.used)
            if program_id is not None:
                cstmt = cstmt.where(table.c.program_id == program_id)
            for row in await conn.execute(cstmt):
                checked += 1
                key = CounterKey(*row[1:6])
                seen.add(key)
                want = expected.get(key, 0)
                if row.used != want:
                    drifts.append(_drift(key, row.used, want))
                    if fix:
                        fixed = update(table).where(table.c.id == row.id).values(used=want)
                        await conn.execute(fixed)
        for key, want in expected.items():
            if key in seen or want == 0:
                continue
            drifts.append(_drift(key, 0, want))
            if fix:
                await _create(conn, key, want, *limits[key])
    return ReconcileReport(
        counters_checked=checked,
        redemptions_read=redemptions,
        drifts=tuple(drifts),
        fixed=fix and bool(drifts),
    )


async def _ledger(
    conn: AsyncConnection, program_id: uuid.UUID | None
) -> tuple[dict[CounterKey, int], dict[CounterKey, tuple[int, int]], int]:
    """What each counter should hold by the ledger, each counter's limit and layout (from its
    takes), and how many redemptions were read."""
    expected: dict[CounterKey, int] = defaultdict(int)
    limits: dict[CounterKey, tuple[int, int]] = {}
    stmt = (
        select(_R.c.program_id, _R.c.takes)
        .outerjoin(_RV, _RV.c.redemption_id == _R.c.id)
        .where(_RV.c.id.is_(None))
    )
    if program_id is not None:
        stmt = stmt.where(_R.c.program_id == program_id)
    redemptions = 0
    for row in await conn.execute(stmt):
        redemptions += 1
        for t in row.takes:
            key = CounterKey(row.program_id, t["p"], t["m"], t["s"], t["k"])
            expected[key] += int(t["n"])
            limits[key] = (int(t["l"]), int(t.get("T", 1)))
    return expected, limits, redemptions


async def _create(
    conn: AsyncConnection, key: CounterKey, used: int, limit: int, stripes: int
) -> None:
    """A counter the ledger has takes for but the tables lack, in its table."""
    values = {
        "id": uuid7(),
        "program_id": key.program_id,
        "policy_key": key.policy_key,
        "metric": key.metric,
        "scope_key": key.scope_key,
        "period_key": key.period_key,
        "used": used,
        "last_take": 0,
    }
    if (member := member_of(key.scope_key)) is not None:
        await conn.execute(insert(_MC).values(member_id=member, limit=limit, **values))
        return
    stripe = stripe_index(key.scope_key)
    if stripe is not None:
        limit = share(limit, stripes, stripe)
    stripes = stripes if stripe is not None else 1
    await conn.execute(insert(_C).values(limit=limit, stripes=stripes, **values))


def _drift(key: CounterKey, have: int, want: int) -> CounterDrift:
    return CounterDrift(
        program_id=key.program_id,
        policy=key.policy_key,
        metric=key.metric,
        scope_key=key.scope_key,
        period_key=key.period_key,
        counter_used=have,
        ledger_used=want,
    )
