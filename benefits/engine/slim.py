"""The common redemption with less Python: one programme, no bill, no clamp policy.

``benefits.engine.redeem`` plans any redemption (several programmes, clamps, bills) through
``Take``, ``CounterKey`` and ``Charge`` values, and shapes its result from the ledger rows'
dicts. Most redemptions at a till are one programme whose limits only reject. For those,
:func:`redeem_one` sends the very statement the general path sends
(:mod:`benefits.engine.at_once`), with the same arguments, and returns the same result, from a
plan worked out once per programme version (:class:`Plan`: each policy's labels, and its period
keys and ends, which change once a day) straight into the statement's argument list.

It runs after the general path's reads and checks (head, replay, status, window, eligibility,
scope) and before anything is written; whatever it does not cover (a clamp, a minimum spend not
met, a take above a limit, a budget stripe too small) it leaves to the general path, which
raises or walks as ever, by returning ``None``. ``tests/benefits/engine/test_slim_parity.py``
drives both paths over generated programmes and requests and compares ledger rows, counters
and results.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from uuid_utils import uuid7 as new_uuid7  # not .compat's: asyncpg takes its bytes as they are

from benefits.engine.at_once import MEMBER, STRIPE, UPSERT, run_statement
from benefits.engine.counters import budget_stripes, pick_stripe, share, stripe_scope
from benefits.engine.ledger_keys import line_id
from benefits.engine.request import Request
from benefits.engine.results import LimitState, RedemptionLine, RedemptionResult
from benefits.engine.statements import LINE_COLUMNS, Head
from benefits.engine.versions import CompiledRules
from benefits.rules.benefit import Outcome, compute
from benefits.rules.limits import scope_key_of
from benefits.rules.periods import Period, end_of_key, key_for_date
from benefits.rules.programme import LimitScope, Metric

# The ledger row's arguments are laid out below in this order (a new column must be added
# there too: this fails at import rather than writing a column into another).
_COLUMNS = (
    "id",
    "checkout_id",
    "line",
    "merchant_id",
    "store_id",
    "terminal_id",
    "member_id",
    "member_org_path",
    "card_id",
    "program_id",
    "program_version_id",
    "version_number",
    "amount_fen",
    "discount_fen",
    "payable_fen",
    "units",
    "subsidy_fen",
    "value_fen",
    "occurred_at",
    "idempotency_key",
    "fingerprint",
    "token_id",
    "bill_ref",
    "takes",
)
if LINE_COLUMNS != _COLUMNS:
    raise ImportError("benefits.engine.slim lays out other ledger columns than the table's")

_QUANTITY = {Metric.count: 0, Metric.units: 1, Metric.amount: 2}


@dataclass(frozen=True, slots=True)
class _Policy:
    key: str
    metric: str
    quantity: int  # index into (1, units, value_fen): what the policy counts
    scope: LimitScope
    period: Period
    limit: int
    labels: tuple[str, str, str, bool]  # scope, period, on_exceed, is_budget (LimitState)
    take_json: str  # the start of its entry in the ledger's ``takes``: '{"p": …, "m": …, '


def _policy(p: Any, labels: tuple[str, str, str, bool]) -> _Policy:
    head = f'{{"p": {json.dumps(p.key)}, "m": {json.dumps(p.metric.value)}, '
    return _Policy(
        p.key, p.metric.value, _QUANTITY[p.metric], p.scope, p.period, p.limit, labels, head
    )


class Plan:
    """A version's policies in charging order, and its period keys and ends for the last
    local day asked (a day's are worked out once, not per redemption)."""

    __slots__ = ("_day", "_periods", "policies")

    def __init__(self, compiled: CompiledRules) -> None:
        self.policies = tuple(_policy(p, compiled.labels[p.key]) for p in compiled.policies)
        self._day: date | None = None
        self._periods: tuple[tuple[str, datetime | None], ...] = ()

    def periods(self, day: date, tz: ZoneInfo) -> tuple[tuple[str, datetime | None], ...]:
        """Each policy's period key and end (UTC) on local ``day``."""
        if day != self._day:
            keys = [key_for_date(p.period, day) for p in self.policies]
            self._periods = tuple(
                (k, end_of_key(p.period, k, tz)) for p, k in zip(self.policies, keys, strict=True)
            )
            self._day = day
        return self._periods


_PLAN_MAX = 4096
_plans: dict[uuid.UUID | None, Plan | None] = {}


def plan_of(compiled: CompiledRules) -> Plan | None:
    """The version's plan; ``None`` with a clamp policy (the general path's case)."""
    vid = compiled.version_id
    if vid in _plans:
        return _plans[vid]
    plan = None if compiled.clamps else Plan(compiled)
    if vid is not None:  # a draft's rules may change: never cached
        if len(_plans) >= _PLAN_MAX:
            _plans.clear()
        _plans[vid] = plan
    return plan


async def redeem_one(
    pg: Any, req: Request, row: Head, compiled: CompiledRules
) -> RedemptionResult | None:
    """One programme's redemption (``req`` without a bill) in one statement on ``pg``, an
    asyncpg connection outside a transaction; ``None``: not this path's case, nothing written.
    Raises the driver's errors as ``at_once.charge_and_insert`` does."""
    plan = plan_of(compiled)
    if plan is None or req.bill_ref is not None:
        return None
    outcome = compute(compiled.rules.benefit, req.amount_fen, req.units)
    if not isinstance(outcome, Outcome):
        return None  # below the minimum spend: the general path says so
    stripes = budget_stripes()
    periods = plan.periods(req.at.astimezone(compiled.tz).date(), compiled.tz)
    quantities = (1, outcome.units, outcome.value_fen)
    member_id, merchant_id = req.member.id, req.merchant.merchant_id
    args: list[Any] = []
    shape: list[int] = []
    taken: list[int] = []
    # The ledger's ``takes`` written as JSON text here: the policy's part is made once per
    # plan; scope and period keys are ASCII of our own making (hex ids, dates), never escaped.
    entries: list[str] = []
    for p, (period, _) in zip(plan.policies, periods, strict=True):
        n, limit = quantities[p.quantity], p.limit
        if n > limit:
            return None  # refused before any statement: the general path raises
        if p.scope is LimitScope.program:
            pick = pick_stripe(req.idempotency_key, stripes) if n else 0
            scope = stripe_scope(pick)
            extra = ""
            if n:
                if (most := share(limit, stripes, pick)) < n:
                    return None  # the picked stripe is short: the transaction walks
                args += (row.id, p.key, p.metric, scope, period, stripes, most, n)
                shape.append(STRIPE)
                if stripes > 1:
                    extra = f', "T": {stripes}'
        else:
            if (whose := scope_key_of(p.scope, member_id, merchant_id)) is None:
                return None
            scope, extra = whose, ""
            if n:
                if p.scope is LimitScope.merchant:
                    args += (new_uuid7(), row.id, p.key, p.metric, whose, period, n, limit, n)
                    shape.append(UPSERT)
                else:  # the member's own counter, in its own table
                    args += (member_id, new_uuid7(), row.id, p.key, p.metric, whose, period)
                    args += (n, limit, n)
                    shape.append(MEMBER)
        taken.append(n)
        entries.append(
            f'{p.take_json}"s": "{scope}", "k": "{period}", "n": {n}, "l": {limit}{extra}}}'
        )
    checkout_id = line_id(req.at)
    line = _line(req, row, compiled, outcome, checkout_id, f"[{', '.join(entries)}]")
    used = await run_statement(pg, tuple(shape), 1, [*args, *line])
    return _result(req, row, compiled, outcome, checkout_id, plan, periods, taken, used, stripes)


def _line(
    req: Request,
    row: Head,
    compiled: CompiledRules,
    outcome: Outcome,
    checkout_id: uuid.UUID,
    takes: str,
) -> list[Any]:
    """The ledger row's values, in :data:`_COLUMNS` order."""
    m, amount, discount = req.merchant, req.amount_fen, outcome.discount_fen
    return [
        checkout_id,
        checkout_id,
        0,
        m.merchant_id,
        m.store_id,
        m.terminal_id,
        req.member.id,
        req.member.org_path,
        req.card_id,
        row.id,
        compiled.version_id,
        compiled.number,
        amount,
        discount,
        amount - discount,
        outcome.units,
        outcome.subsidy_fen,
        outcome.value_fen,
        req.at,
        req.idempotency_key,
        req.fingerprint,
        req.token_id,
        None,
        takes,
    ]


def _result(
    req: Request,
    row: Head,
    compiled: CompiledRules,
    outcome: Outcome,
    checkout_id: uuid.UUID,
    plan: Plan,
    periods: tuple[tuple[str, datetime | None], ...],
    taken: list[int],
    used: list[int],
    stripes: int,
) -> RedemptionResult:
    """The result the general path shapes from the same ledger row (``checkout_result``)."""
    charged = iter(used)
    limits = []
    for p, (period, ends), n in zip(plan.policies, periods, taken, strict=True):
        limit = p.limit
        after: int | None = None
        if n:
            u = next(charged)
            if p.scope is not LimitScope.program or stripes == 1:  # several stripes: unknown
                after = max(0, limit - u)
        scope, period_label, on_exceed, is_budget = p.labels
        limits.append(
            LimitState(
                p.key,
                p.metric,
                scope,
                period_label,
                on_exceed,
                is_budget,
                limit,
                period,
                ends,
                None if after is None else after + n,
                n,
                after,
            )
        )
    amount, discount = req.amount_fen, outcome.discount_fen
    m = req.merchant
    line = RedemptionLine(
        checkout_id,
        0,
        row.id,
        row.code,
        compiled.rules.name,
        compiled.version_id,  # type: ignore[arg-type]  # published: never None
        compiled.number,
        amount,
        discount,
        amount - discount,
        outcome.units,
        outcome.subsidy_fen,
        outcome.value_fen,
        tuple(limits),
    )
    return RedemptionResult(
        checkout_id,
        m.merchant_id,
        m.store_id,
        m.terminal_id,
        req.member.id,
        req.card_id,
        req.token_id,
        req.at,
        req.idempotency_key,
        amount,
        discount,
        amount - discount,
        outcome.subsidy_fen,
        (line,),
    )
