"""Limit counters in the database: one conditional upsert per counter, no read-then-write.

Charging a counter is a single statement, identical in shape on PostgreSQL and SQLite
(:data:`benefits.statements.UPSERT_SQL`)::

    INSERT INTO benefit_counter (…, used, "limit", last_take) VALUES (…, :n, :limit, :n)
    ON CONFLICT (program_id, policy_key, metric, scope_key, period_key)
    DO UPDATE SET used = benefit_counter.used + :n, "limit" = :limit, last_take = :n
    WHERE benefit_counter.used + :n <= :limit
    RETURNING used, last_take

No row back means the limit refused. The first redemption of a period creates the row (so there
is no reset job), and two first redemptions racing on it serialise on the unique index. On
PostgreSQL the conflicting row is locked and re-checked with its committed value; on SQLite
writers are serialised by ``BEGIN IMMEDIATE``. The condition uses the limit of the version being
redeemed (and stores it), so raising or lowering a limit in a new version applies at once.

For ``clamp`` policies the update takes ``min(n, limit - used)`` and reports it in ``last_take``.
"""

from __future__ import annotations

from typing import Any

from uuid_utils.compat import uuid7

from benefits.limits import CounterKey
from benefits.statements import Statements


def key_params(key: CounterKey) -> dict[str, Any]:
    return {
        "k_program": key.program_id,
        "k_policy": key.policy_key,
        "k_metric": key.metric,
        "k_scope": key.scope_key,
        "k_period": key.period_key,
    }


class SqlCounters:
    """The :class:`~benefits.limits.CounterStore` of a redemption's transaction."""

    def __init__(self, statements: Statements) -> None:
        self.statements = statements

    async def take(
        self, key: CounterKey, n: int, limit: int, clamp: bool
    ) -> tuple[int, int | None] | None:
        if n == 0:
            return 0, None  # nothing to charge, nothing to check
        params = key_params(key)
        params.update(k_id=uuid7(), n=n, lim=limit, init=min(n, limit))
        row = await self.statements.upsert_counter(clamp, params)
        if row is None:
            return None
        used, last_take = row
        return last_take, used

    async def give_back(self, key: CounterKey, n: int) -> None:
        if n > 0:
            await self.statements.release_counter({**key_params(key), "n": n})
