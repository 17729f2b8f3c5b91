"""Limit policies applied to one redemption, against any counter store.

The algorithm is shared by ``redeem`` (counters in the database, one conditional statement each)
and ``quote``/``simulate`` (counters read once into memory), so both give the same answer.

Order of work within a programme, which is also the order counter rows are locked in (a fixed
order across transactions, so concurrent redemptions cannot deadlock on each other):

1. ``count`` policies (always 1);
2. ``units`` policies (clamp ones first): a clamp may grant fewer units, which shrinks the
   benefit (the amount is prorated over the units);
3. ``amount`` policies (clamp first) on the benefit's value: a clamp lowers the value to what
   is left.

Within a metric, counters shared by many members (merchant, then programme scope: budgets) come
last, so that their row locks are held for the shortest time before commit.

When a later clamp in the same metric grants less than an earlier one took, the earlier counter
is given the difference back, so every counter ends up charged the same final quantity.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from benefits.errors import Reason
from benefits.rules.benefit import Outcome, with_fewer_units, with_value_cap
from benefits.rules.periods import PERIOD_LABELS_ZH, key_for_date, local_date
from benefits.rules.programme import Benefit, LimitPolicy, LimitScope, Metric, OnExceed

_METRIC_RANK = {Metric.count: 0, Metric.units: 1, Metric.amount: 2}
_SCOPE_RANK = {
    LimitScope.member: 0,
    LimitScope.member_merchant: 1,
    LimitScope.merchant: 2,
    LimitScope.program: 3,
}


@dataclass(frozen=True, slots=True)
class CounterKey:
    program_id: uuid.UUID
    policy_key: str
    metric: str
    scope_key: str
    period_key: str


@dataclass(slots=True)
class Take:
    """What one redemption took from one counter; ``used`` is the counter after the take."""

    key: CounterKey
    policy: LimitPolicy
    n: int
    used: int | None
    limit: int


class LimitHit(Exception):
    """A policy has not enough left (reject) or nothing left (clamp)."""

    def __init__(self, policy: LimitPolicy, used: int | None) -> None:
        super().__init__(policy.key)
        self.policy = policy
        self.used = used

    def reason(self) -> Reason:
        return exhausted_reason(self.policy, self.used)


def exhausted_reason(policy: LimitPolicy, used: int | None) -> Reason:
    detail = {
        "policy": policy.key,
        "metric": policy.metric.value,
        "scope": policy.scope.value,
        "period": policy.period.value,
        "limit": policy.limit,
    }
    if used is not None:
        detail["remaining"] = max(0, policy.limit - used)
    if policy.is_budget:
        return Reason(
            "budget_exhausted", "项目预算已用完", "The programme's budget is spent", detail
        )
    label = PERIOD_LABELS_ZH[policy.period]
    return Reason(
        "quota_exhausted",
        f"额度已用完（{label}，规则 {policy.key}）",
        f"Quota used up (per {policy.period.value}, policy {policy.key})",
        detail,
    )


def plan_order(limits: tuple[LimitPolicy, ...]) -> tuple[LimitPolicy, ...]:
    """Policies in processing (and locking) order."""
    return tuple(
        sorted(
            limits,
            key=lambda p: (
                _METRIC_RANK[p.metric],
                p.on_exceed is not OnExceed.clamp,
                _SCOPE_RANK[p.scope],
                p.key,
            ),
        )
    )


def scope_key(
    policy: LimitPolicy, member_id: uuid.UUID, merchant_id: uuid.UUID | None
) -> str | None:
    """Whose counter a policy charges; ``None`` when the merchant is not known (member view)."""
    return scope_key_of(policy.scope, member_id, merchant_id)


def scope_key_of(s: LimitScope, member_id: uuid.UUID, merchant_id: uuid.UUID | None) -> str | None:
    """:func:`scope_key` of a policy of scope ``s``."""
    if s is LimitScope.member:
        return f"m:{member_id.hex}"
    if s is LimitScope.program:
        return "p"
    if merchant_id is None:
        return None
    if s is LimitScope.merchant:
        return f"x:{merchant_id.hex}"
    return f"mx:{member_id.hex}:{merchant_id.hex}"


def member_of(scope_key: str) -> uuid.UUID | None:
    """The member whose own counter a scope key names (``m:…``, ``mx:…``); ``None`` for the
    counters shared by members (programme, merchant)."""
    if scope_key.startswith("m:"):
        return uuid.UUID(scope_key[2:34])
    if scope_key.startswith("mx:"):
        return uuid.UUID(scope_key[3:35])
    return None


def counter_key(
    program_id: uuid.UUID,
    policy: LimitPolicy,
    *,
    member_id: uuid.UUID,
    merchant_id: uuid.UUID | None,
    at: datetime,
    tz: ZoneInfo,
    day: date | None = None,
) -> CounterKey | None:
    """The counter ``policy`` charges; ``day`` (the local date of ``at``) saves a conversion."""
    sk = scope_key(policy, member_id, merchant_id)
    if sk is None:
        return None
    period = key_for_date(policy.period, local_date(at, tz) if day is None else day)
    return CounterKey(program_id, policy.key, policy.metric.value, sk, period)


class CounterStore(Protocol):
    async def take(
        self, key: CounterKey, n: int, limit: int, clamp: bool
    ) -> tuple[int, int | None] | None:
        """Take ``n`` (or, with ``clamp``, what is left, if anything) from a counter.

        Returns ``(taken, used_after)`` or ``None`` when the policy refuses.
        """
        ...

    async def give_back(self, key: CounterKey, n: int) -> None: ...


async def apply_limits(
    store: CounterStore,
    *,
    program_id: uuid.UUID,
    policies: tuple[LimitPolicy, ...],
    benefit: Benefit,
    outcome: Outcome,
    member_id: uuid.UUID,
    merchant_id: uuid.UUID | None,
    at: datetime,
    tz: ZoneInfo,
) -> tuple[Outcome, list[Take]]:
    """Charge every policy (in ``plan_order``); return the possibly clamped outcome and takes.

    Raises :class:`LimitHit` on the first policy that refuses; the caller rolls back the
    takes already made (the database transaction, or the in-memory copy).
    """
    takes: list[Take] = []
    day = local_date(at, tz)
    metric: Metric | None = None
    metric_takes: list[Take] = []
    n = 0
    for policy in policies:
        if policy.metric is not metric:
            outcome = _settle(benefit, outcome, metric, n)
            metric, metric_takes = policy.metric, []
            n = _quantity(policy.metric, outcome)
        key = counter_key(
            program_id, policy, member_id=member_id, merchant_id=merchant_id, at=at, tz=tz, day=day
        )
        if key is None:
            continue
        clamp = policy.on_exceed is OnExceed.clamp
        if n > 0 and not clamp and n > policy.limit:
            raise LimitHit(policy, None)
        result = await store.take(key, n, policy.limit, clamp)
        if result is None:
            raise LimitHit(policy, policy.limit if clamp else None)
        taken, used = result
        if taken < n:  # clamped: earlier takes of this metric give back the excess
            for prev in metric_takes:
                await store.give_back(prev.key, prev.n - taken)
                if prev.used is not None:
                    prev.used -= prev.n - taken
                prev.n = taken
            n = taken
        take = Take(key, policy, taken, used, policy.limit)
        metric_takes.append(take)
        takes.append(take)
    outcome = _settle(benefit, outcome, metric, n)
    return outcome, takes


def plan_takes(
    *,
    program_id: uuid.UUID,
    policies: tuple[LimitPolicy, ...],
    outcome: Outcome,
    member_id: uuid.UUID,
    merchant_id: uuid.UUID | None,
    at: datetime,
    tz: ZoneInfo,
) -> list[Take]:
    """The takes :func:`apply_limits` makes from a store that grants everything asked (the
    outcome stays as it is), worked out without a store: what a redemption without clamp
    policies plans before it charges. Raises :class:`LimitHit` as ``apply_limits`` would."""
    takes: list[Take] = []
    day = local_date(at, tz)
    for policy in policies:
        key = counter_key(
            program_id, policy, member_id=member_id, merchant_id=merchant_id, at=at, tz=tz, day=day
        )
        if key is None:
            continue
        n = _quantity(policy.metric, outcome)
        if n > 0 and policy.on_exceed is not OnExceed.clamp and n > policy.limit:
            raise LimitHit(policy, None)
        takes.append(Take(key, policy, n, None, policy.limit))
    return takes


def _quantity(metric: Metric, outcome: Outcome) -> int:
    if metric is Metric.units:
        return outcome.units
    if metric is Metric.amount:
        return outcome.value_fen
    return 1


def _settle(benefit: Benefit, outcome: Outcome, metric: Metric | None, n: int) -> Outcome:
    """Apply the quantity a metric's policies finally granted to the outcome."""
    if metric is Metric.units:
        return with_fewer_units(benefit, outcome, n)
    if metric is Metric.amount:
        return with_value_cap(outcome, n)
    return outcome


class MemoryCounters:
    """Counters held in a dict: the quote/simulate stand-in for the database."""

    def __init__(self, used: dict[CounterKey, int] | None = None) -> None:
        self.used = dict(used or {})

    async def take(
        self, key: CounterKey, n: int, limit: int, clamp: bool
    ) -> tuple[int, int | None] | None:
        used = self.used.get(key, 0)
        if n == 0:
            return 0, used
        if clamp:
            if used >= limit:
                return None
            n = min(n, limit - used)
        elif used + n > limit:
            return None
        self.used[key] = used + n
        return n, used + n

    async def give_back(self, key: CounterKey, n: int) -> None:
        self.used[key] = self.used.get(key, 0) - n
