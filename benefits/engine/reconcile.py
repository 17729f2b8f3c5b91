"""Rebuild counters from the ledger and report drift.

The ledger is the truth: each redemption row records the exact counters it charged (``takes``)
and a reversal cancels its row. A counter should hold the sum of the takes of the redemptions
that are not reversed. ``reconcile`` compares, reports every difference, and (with ``fix``)
sets the counters to the ledger's figures, creating missing ones.

While it runs on PostgreSQL the counter table is locked against writes (SHARE ROW EXCLUSIVE:
readers go on, redemptions and reversals wait a moment), so that no redemption can charge a
counter between the ledger read and the fix. SQLite serialises writers anyway.

Budget stripes (:mod:`benefits.engine.counters`) are counters of their own: each stripe row is
compared with the takes the ledger recorded on that stripe; a missing stripe is recreated with
its share of the limit and the counter's layout (``T`` in the takes).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import cast

from sqlalchemy import Table, insert, select, text, update
from uuid_utils.compat import uuid7

from benefits.engine.counters import share, stripe_index
from benefits.engine.results import CounterDrift, ReconcileReport
from benefits.engine.txn import Db, write_transaction
from benefits.models import Counter, Redemption, Reversal
from benefits.rules.limits import CounterKey

# Declarative models map a Table; SQLAlchemy types ``__table__`` as the wider FromClause.
_C = cast(Table, Counter.__table__)
_R = cast(Table, Redemption.__table__)
_RV = cast(Table, Reversal.__table__)


async def reconcile(
    db: Db, *, program_id: uuid.UUID | None = None, fix: bool = True
) -> ReconcileReport:
    """Compare every counter (of one programme, or all) with the ledger; fix if asked."""
    async with write_transaction(db) as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("LOCK TABLE benefit_counter IN SHARE ROW EXCLUSIVE MODE"))
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
        cstmt = select(
            _C.c.id,
            _C.c.program_id,
            _C.c.policy_key,
            _C.c.metric,
            _C.c.scope_key,
            _C.c.period_key,
            _C.c.used,
        )
        if program_id is not None:
            cstmt = cstmt.where(_C.c.program_id == program_id)
        drifts: list[CounterDrift] = []
        seen: set[CounterKey] = set()
        checked = 0
        for row in await conn.execute(cstmt):
            checked += 1
            key = CounterKey(
                row.program_id, row.policy_key, row.metric, row.scope_key, row.period_key
            )
            seen.add(key)
            want = expected.get(key, 0)
            if row.used != want:
                drifts.append(_drift(key, row.used, want))
                if fix:
                    await conn.execute(update(_C).where(_C.c.id == row.id).values(used=want))
        for key, want in expected.items():
            if key in seen or want == 0:
                continue
            drifts.append(_drift(key, 0, want))
            limit, stripes = limits[key]
            stripe = stripe_index(key.scope_key)
            if stripe is not None:
                limit = share(limit, stripes, stripe)
            if fix:
                await conn.execute(
                    insert(_C).values(
                        id=uuid7(),
                        program_id=key.program_id,
                        policy_key=key.policy_key,
                        metric=key.metric,
                        scope_key=key.scope_key,
                        period_key=key.period_key,
                        used=want,
                        limit=limit,
                        last_take=0,
                        stripes=stripes if stripe is not None else 1,
                    )
                )
    return ReconcileReport(
        counters_checked=checked,
        redemptions_read=redemptions,
        drifts=tuple(drifts),
        fixed=fix and bool(drifts),
    )


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
