"""Plain result values returned by the engine (frozen dataclasses, JSON-friendly fields)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from benefits.errors import Reason


@dataclass(frozen=True, slots=True)
class ProgramView:
    id: uuid.UUID
    code: str
    name: str
    owner_org_id: uuid.UUID
    owner_org_path: str
    status: str
    version_number: int  # 0 until first published
    current_version_id: uuid.UUID | None
    priority: int
    valid_from: datetime | None
    valid_until: datetime | None
    timezone: str
    rules: dict[str, Any]  # working rules: the draft, or the current version once published
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class VersionView:
    id: uuid.UUID
    program_id: uuid.UUID
    number: int
    rules: dict[str, Any]
    published_at: datetime
    published_by: uuid.UUID | None


# Not frozen, unlike most value types here: one is built per redemption, and a frozen
# dataclass's __init__ (object.__setattr__ per field) costs five times as much. Read-only by use.
@dataclass(slots=True)
class LimitState:
    """One limit policy as it stands for one member at one store.

    ``remaining_before``/``remaining_after`` bracket the redemption (quote: if it were made;
    redeem: as it was made); ``take`` is what it charges. ``None`` where the counter depends on
    a merchant that is not known (member view of a per-merchant limit) or was not read.
    """

    policy: str
    metric: str
    scope: str
    period: str
    on_exceed: str
    is_budget: bool
    limit: int
    period_key: str | None
    period_ends_at: datetime | None
    remaining_before: int | None
    take: int | None
    remaining_after: int | None


@dataclass(frozen=True, slots=True)
class ProgramQuote:
    """A programme that applies, with what it would give now."""

    program_id: uuid.UUID
    code: str
    name: str
    description: str
    status: str
    version_number: int
    priority: int
    stacking_mode: str
    stacking_group: str | None
    benefit: dict[str, Any]  # the rule, for display
    amount_fen: int
    discount_fen: int
    payable_fen: int
    units: int
    subsidy_fen: int
    value_fen: int
    clamped: bool  # a clamp policy gave less than the full benefit
    limits: tuple[LimitState, ...]


@dataclass(frozen=True, slots=True)
class ProgramRefusal:
    """A programme that does not apply, with the error redeem would give and every reason."""

    program_id: uuid.UUID
    code: str
    name: str
    status: str
    error_code: str
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Quote:
    member_id: uuid.UUID
    merchant_id: uuid.UUID | None
    at: datetime
    amount_fen: int
    units: int
    applicable: tuple[ProgramQuote, ...]  # by priority, highest first
    not_applicable: tuple[ProgramRefusal, ...]


# Not frozen, unlike most value types here: one is built per redemption, and a frozen
# dataclass's __init__ (object.__setattr__ per field) costs five times as much. Read-only by use.
@dataclass(slots=True)
class RedemptionLine:
    id: uuid.UUID
    line: int
    program_id: uuid.UUID
    program_code: str
    program_name: str
    version_id: uuid.UUID
    version_number: int
    amount_fen: int
    discount_fen: int
    payable_fen: int
    units: int
    subsidy_fen: int
    value_fen: int
    limits: tuple[LimitState, ...]


# Not frozen, unlike most value types here: one is built per redemption, and a frozen
# dataclass's __init__ (object.__setattr__ per field) costs five times as much. Read-only by use.
@dataclass(slots=True)
class RedemptionResult:
    """A checkout: one or more programmes applied to one bill, under one idempotency key."""

    redemption_id: uuid.UUID  # = id of line 0; what reverse() takes
    merchant_id: uuid.UUID
    store_id: uuid.UUID | None
    terminal_id: uuid.UUID | None
    member_id: uuid.UUID
    card_id: uuid.UUID | None
    token_id: str | None
    occurred_at: datetime
    idempotency_key: str
    amount_fen: int
    discount_fen: int
    payable_fen: int
    subsidy_fen: int
    lines: tuple[RedemptionLine, ...]
    replayed: bool = False  # True when this is the stored result of an earlier identical request
    reversed: bool = False
    bill_ref: str | None = None  # the merchant's reference of the bill, if the terminal gave one


@dataclass(frozen=True, slots=True)
class ReversalResult:
    redemption_id: uuid.UUID
    reversed_at: datetime
    reason: str | None
    restored: tuple[dict[str, Any], ...]  # the counters given back: policy, scope, period, n
    booked_month: str | None = None  # the settlement month that nets it out (when known)


@dataclass(frozen=True, slots=True)
class PolicyUsage:
    policy: str
    metric: str
    scope: str
    period: str
    on_exceed: str
    is_budget: bool
    limit: int
    period_key: str
    counters: int  # how many members / merchants have a counter this period
    used_total: int  # summed over those counters
    used_max: int  # the most any one of them used
    remaining: int | None  # for programme-scope policies: what is left this period


@dataclass(frozen=True, slots=True)
class ProgramUsage:
    program_id: uuid.UUID
    status: str
    version_number: int
    at: datetime
    policies: tuple[PolicyUsage, ...]
    budget_limit_fen: int | None  # the tightest programme-scope amount limit, this period
    budget_spent_fen: int | None
    redemptions: int  # ledger rows not reversed (all time)
    reversed: int
    discount_fen: int
    subsidy_fen: int
    units: int


@dataclass(frozen=True, slots=True)
class MemberBenefit:
    """A programme a member can use, with what is left this period."""

    program_id: uuid.UUID
    code: str
    name: str
    description: str
    benefit: dict[str, Any]
    scope: dict[str, Any]
    valid_until: datetime | None  # exclusive
    valid_through: date | None  # the last valid day, in the programme's zone
    usable_now: bool  # False when a member/programme limit is already used up
    limits: tuple[LimitState, ...]


@dataclass(frozen=True, slots=True)
class CounterDrift:
    program_id: uuid.UUID
    policy: str
    metric: str
    scope_key: str
    period_key: str
    counter_used: int  # what the counter said
    ledger_used: int  # what the ledger says


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    counters_checked: int
    redemptions_read: int
    drifts: tuple[CounterDrift, ...]
    fixed: bool

    @property
    def ok(self) -> bool:
        return not self.drifts


@dataclass(frozen=True, slots=True)
class RedemptionRecord:
    """One ledger row (one programme applied in one checkout), for lists and statements."""

    id: uuid.UUID
    redemption_id: uuid.UUID  # the checkout (id of line 0)
    line: int
    merchant_id: uuid.UUID
    store_id: uuid.UUID | None
    terminal_id: uuid.UUID | None
    member_id: uuid.UUID
    card_id: uuid.UUID | None
    program_id: uuid.UUID
    program_code: str
    version_number: int
    amount_fen: int
    discount_fen: int
    payable_fen: int
    units: int
    subsidy_fen: int
    occurred_at: datetime
    reversed_at: datetime | None
    bill_ref: str | None = None


@dataclass(frozen=True, slots=True)
class SettlementLine:
    """What one programme's redemptions at one merchant add up to over a time range."""

    program_id: uuid.UUID
    program_code: str
    redemptions: int
    units: int
    discount_fen: int
    subsidy_fen: int  # what the federation owes the merchant
