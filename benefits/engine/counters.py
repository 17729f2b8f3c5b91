"""Limit counters in the database: one conditional upsert per counter, no read-then-write.

Charging a counter is a single statement, identical in shape on PostgreSQL and SQLite
(:data:`benefits.engine.counter_sql.UPSERT_SQL`)::

    INSERT INTO benefit_counter (…, used, "limit", last_take) VALUES (…, :n, :limit, :n)
    ON CONFLICT (program_id, policy_key, metric, scope_key, period_key)
    DO UPDATE SET used = benefit_counter.used + :n, "limit" = :limit, last_take = :n
    WHERE benefit_counter.used + :n <= :limit
    RETURNING used, last_take

A member's own counters (scope keys ``m:…``, ``mx:…``) are in ``benefit_member_counter``, with
the member's id first in the conflict key; the statement is otherwise the same. No row back
means the limit refused. The first redemption of a period creates the row (so there
is no reset job), and two first redemptions racing on it serialise on the unique index. On
PostgreSQL the conflicting row is locked and re-checked with its committed value; on SQLite
writers are serialised by ``BEGIN IMMEDIATE``. The condition uses the limit of the version being
redeemed (and stores it), so raising or lowering a limit in a new version applies at once.

For ``clamp`` policies the update takes ``min(n, limit - used)`` and reports it in ``last_take``.

Budget stripes (``UNIONCARD_BUDGET_STRIPES``, :func:`set_budget_stripes`): a programme-scope
counter (a programme budget, or a programme-wide count) is one row every redemption of the
programme must lock, so its redemptions serialise on it. With ``N > 1`` the counter is laid out
as N rows ("stripes": scope keys ``p``, ``p#1`` … ``p#<N-1>``); stripe ``i`` may hold
``share(limit, N, i)`` (the limit split as evenly as integers allow; the shares add up to the
limit exactly), so the stripes together can never hold more than the limit.

* A redemption first tries one stripe, picked from its idempotency key (so a retry picks the
  same one), with the usual conditional statement: ``used + n <= share``.
* If that stripe is short (or not created yet), the transaction is rolled back and redone
  walking (:class:`WalkNeeded`): it visits the stripes in ascending order, taking from each
  what it can until it has ``n``. A ``reject`` policy that cannot gather ``n``
  is refused (the transaction, and with it the partial takes, rolls back); a ``clamp`` policy
  gets what the stripes had. So the programme never overspends, and a redemption is refused
  only when the stripes together have less than it needs. Near exhaustion most redemptions
  walk, and the programme is back to single-row throughput: the price of exactness.
* The ledger records every stripe a redemption took from (its ``takes``), so a reversal gives
  back exactly to those stripes, and reconciliation compares each stripe with the ledger.
* The layout is fixed per counter (per period) by its stripe 0, when the first redemption
  creates it; every statement checks the row's layout. Changing the setting therefore takes
  effect from the next period of each counter; until then redemptions made under the other
  setting walk (correct, slower).
"""

from __future__ import annotations

import zlib
from typing import Any

from uuid_utils.compat import uuid7

from benefits.engine.at_once import MEMBER, STRIPE, UPSERT, Charge
from benefits.engine.statements import Statements
from benefits.rules.limits import CounterKey, member_of


def key_params(key: CounterKey) -> dict[str, Any]:
    """A counter's key as statement parameters; ``k_member`` picks its table
    (``benefits.engine.counter_sql``): a member's own counter, or one shared by members."""
    return {
        "k_member": member_of(key.scope_key),
        "k_program": key.program_id,
        "k_policy": key.policy_key,
        "k_metric": key.metric,
        "k_scope": key.scope_key,
        "k_period": key.period_key,
    }


MAX_STRIPES = 64
PROGRAM_SCOPE = "p"
_STRIPE_SEP = "#"
_stripes = 1


def set_budget_stripes(n: int) -> None:
    """Stripes of programme-scope counters created from now on in this process (1 = one row)."""
    global _stripes
    if not 1 <= n <= MAX_STRIPES:
        raise ValueError(f"budget stripes must be 1–{MAX_STRIPES}, got {n}")
    _stripes = n


def budget_stripes() -> int:
    return _stripes


def share(limit: int, stripes: int, i: int) -> int:
    """What stripe ``i`` of ``stripes`` may hold of ``limit``; the shares add up to ``limit``."""
    return limit // stripes + (1 if i < limit % stripes else 0)


def stripe_scope(i: int) -> str:
    return PROGRAM_SCOPE if i == 0 else f"{PROGRAM_SCOPE}{_STRIPE_SEP}{i}"


def stripe_index(scope_key: str) -> int | None:
    """The stripe a programme-scope key names (0 for ``p``); ``None`` for other scopes."""
    if scope_key == PROGRAM_SCOPE:
        return 0
    base, sep, i = scope_key.partition(_STRIPE_SEP)
    return int(i) if sep and base == PROGRAM_SCOPE and i.isdigit() else None


def pick_stripe(idempotency_key: str, stripes: int) -> int:
    """The stripe a redemption tries first: spread evenly, the same for a retry."""
    return zlib.crc32(idempotency_key.encode()) % stripes if stripes > 1 else 0


class WalkNeeded(Exception):
    """The first stripe tried was short: roll the transaction back and redo it walking.

    Why not walk at once: on PostgreSQL a conditional UPDATE that had to wait for a concurrent
    update of its row and then finds its condition false still holds the row's lock (the newest
    version is locked before the condition is checked again). A walk that started while holding
    some stripe could deadlock with a walker holding lower stripes. After the rollback the
    transaction holds no stripe, and walks lock in ascending order only.
    """


class SqlCounters:
    """The :class:`~benefits.rules.limits.CounterStore` of a redemption's transaction.

    ``parts`` records, for each programme-scope counter charged, the stripes taken from and
    how much (``[(stripe, n), …]``), and ``layouts`` the counter's number of stripes: what the
    ledger must record for the reversal and for reconciliation.
    """

    def __init__(
        self, statements: Statements, *, stripes: int = 1, pick: int = 0, walk: bool = False
    ) -> None:
        self.statements = statements
        self.walk = walk  # a retry after WalkNeeded: every striped counter walks
        self.stripes = stripes
        self.pick = pick % stripes
        self.parts: dict[CounterKey, list[tuple[int, int]]] = {}
        self.layouts: dict[CounterKey, int] = {}

    def planned(self, key: CounterKey, n: int) -> tuple[list[tuple[int, int]], int]:
        """The stripes a charge of ``n`` will take from if the first stripe has room."""
        if key.scope_key != PROGRAM_SCOPE or (n == 0 and key not in self.parts):
            return [(0, n)], 1  # (nothing taken: nothing to name a stripe for)
        return self.parts.get(key, [(self.pick, n)]), self.layouts.get(key, self.stripes)

    async def take(
        self, key: CounterKey, n: int, limit: int, clamp: bool
    ) -> tuple[int, int | None] | None:
        if n == 0:
            return 0, None  # nothing to charge, nothing to check
        if key.scope_key == PROGRAM_SCOPE:
            return await self._take_striped(key, n, limit, clamp)
        params = key_params(key)
        params.update(k_id=uuid7(), n=n, lim=limit, init=min(n, limit))
        row = await self.statements.upsert_counter(clamp, params)
        if row is None:
            return None
        used, last_take = row
        return last_take, used

    def charge(self, key: CounterKey, n: int, limit: int) -> Charge | None:
        """:meth:`take` (``n`` > 0, no clamp) as a statement for ``benefits.engine.at_once``;
        ``None`` when the picked stripe cannot hold ``n`` (the transaction path walks)."""
        if key.scope_key != PROGRAM_SCOPE:
            params = key_params(key)
            params.update(k_id=uuid7(), init=min(n, limit), lim=limit, n=n)
            return Charge(UPSERT if params["k_member"] is None else MEMBER, params)
        params = key_params(key)
        first = self.pick
        params.update(k_scope=stripe_scope(first), n=n, share=share(limit, self.stripes, first))
        params["stripes"] = self.stripes
        return Charge(STRIPE, params) if params["share"] >= n else None

    async def give_back(self, key: CounterKey, n: int) -> None:
        if n <= 0:
            return
        parts = self.parts.get(key)
        if parts is None:
            await self.statements.release_counter({**key_params(key), "n": n})
            return
        # A later clamp granted less: give back from the stripes taken last.
        for j in range(len(parts) - 1, -1, -1):
            i, took = parts[j]
            back = min(took, n)
            await self.statements.release_counter(
                {**key_params(key), "k_scope": stripe_scope(i), "n": back}
            )
            parts[j] = (i, took - back)
            n -= back
            if n == 0:
                break
        self.parts[key] = [p for p in parts if p[1] > 0]

    async def _take_striped(
        self, key: CounterKey, n: int, limit: int, clamp: bool
    ) -> tuple[int, int | None] | None:
        if self.walk:
            return await self._walk(key, n, limit, clamp)
        params = key_params(key)
        first, stripes = self.pick, self.stripes
        params.update(k_scope=stripe_scope(first), n=n, share=share(limit, stripes, first))
        params["stripes"] = stripes
        row = await self.statements.stripe_take(False, params) if params["share"] >= n else None
        if row is not None:
            self.parts[key], self.layouts[key] = [(first, n)], stripes
            return n, row[0] if stripes == 1 else None
        if first != 0:
            raise WalkNeeded()
        # Stripe 0 (always, with one stripe) is the lowest: holding it, the walk still locks
        # in ascending order, so it may go on in this transaction.
        return await self._walk(key, n, limit, clamp)

    async def _walk(
        self, key: CounterKey, n: int, limit: int, clamp: bool
    ) -> tuple[int, int | None] | None:
        """Take ``n`` from the stripes in ascending order (the order every walker locks them).

        A walker holds no stripe of the counter when it starts (see :class:`WalkNeeded`). The
        first redemption of a period creates all the stripes (stripe 0 first: a concurrent
        creator waits on it, holding nothing) before it takes from any. So stripes are created
        and locked in one order, and a redemption that took its first stripe takes no other:
        redemptions cannot deadlock on stripes.
        """
        base = key_params(key)
        query = {**base, "k_like": f"{PROGRAM_SCOPE}{_STRIPE_SEP}%"}
        rows = dict(await self.statements.stripe_rows(query))
        if PROGRAM_SCOPE not in rows:
            # The first redemption of the period: stripe 0 fixes the layout. A concurrent
            # creator (even one configured differently) wins or waits on the unique index.
            await self.statements.stripe_create(
                {
                    **base,
                    "k_id": uuid7(),
                    "share": share(limit, self.stripes, 0),
                    "stripes": self.stripes,
                }
            )
            rows = dict(await self.statements.stripe_rows(query))
        stripes = rows[PROGRAM_SCOPE]
        for i in range(1, stripes):
            if stripe_scope(i) not in rows:
                await self.statements.stripe_create(
                    {
                        **base,
                        "k_scope": stripe_scope(i),
                        "k_id": uuid7(),
                        "share": share(limit, stripes, i),
                        "stripes": stripes,
                    }
                )
        parts: list[tuple[int, int]] = []
        got, used = 0, None
        for i in range(stripes):
            params = {
                **base,
                "k_scope": stripe_scope(i),
                "n": n - got,
                "share": share(limit, stripes, i),
                "stripes": stripes,
            }
            row = await self.statements.stripe_take(True, params)
            if row is None:
                continue
            used, took = row
            parts.append((i, took))
            got += took
            if got == n:
                break
        if got == 0 or (got < n and not clamp):
            return None  # the caller refuses; the rollback undoes any partial takes
        self.parts[key], self.layouts[key] = parts, stripes
        return got, used if stripes == 1 else None
