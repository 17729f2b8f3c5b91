"""A programme's rules as immutable values: what a published version snapshots.

These are plain frozen dataclasses; :mod:`benefits.rules.validation` builds them from JSON (with
field-named errors) and :func:`rules_to_json` writes them back, so ``parse(to_json(r)) == r``.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from benefits.rules.periods import DEFAULT_ZONE, Period


class Metric(enum.StrEnum):
    # The member shadows str.count on purpose: "count" is the rules' JSON name for it.
    count = "count"  # type: ignore[assignment]  # one per redemption
    units = "units"  # vouchers, tickets, visits
    amount = "amount"  # fen of benefit value (see Outcome.value_fen)


class LimitScope(enum.StrEnum):
    member = "member"
    member_merchant = "member_merchant"
    merchant = "merchant"
    program = "program"


class OnExceed(enum.StrEnum):
    reject = "reject"
    clamp = "clamp"  # give what is left instead of refusing


class BenefitKind(enum.StrEnum):
    percent_off = "percent_off"
    amount_off = "amount_off"
    fixed_price = "fixed_price"
    free_units = "free_units"
    subsidy = "subsidy"


class Funding(enum.StrEnum):
    merchant = "merchant"  # the merchant grants the discount; nothing to settle
    federation = "federation"  # the federation pays the merchant the discount


class MerchantCategory(enum.StrEnum):
    dining = "dining"
    retail = "retail"
    cinema = "cinema"
    health = "health"
    fitness = "fitness"
    education = "education"  # education / skills training
    rest_station = "rest_station"  # 工惠驿家
    other = "other"


class StackingMode(enum.StrEnum):
    exclusive = "exclusive"
    group = "group"


# Member categories known to the card service (kept in step with cardsvc's Category by hand:
# benefits may not import cardsvc). Unknown names in rules are rejected as typos.
MEMBER_CATEGORIES = frozenset(
    {"model_worker", "hardship", "migrant_worker", "flexible_worker", "retired"}
)


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Who may use the programme, on top of "active member in the owner's subtree"."""

    categories_any: tuple[str, ...] = ()
    categories_none: tuple[str, ...] = ()
    hardship_levels: tuple[int, ...] = ()
    min_tenure_days: int | None = None
    min_age: int | None = None
    max_age: int | None = None
    org_ids: tuple[uuid.UUID, ...] = ()  # member must be in the subtree of one of these
    regions: tuple[str, ...] = ()  # region code prefixes of the member's region


@dataclass(frozen=True, slots=True)
class Scope:
    """Where the programme is accepted: every list that is set must match (AND)."""

    merchant_ids: tuple[uuid.UUID, ...] = ()
    merchant_categories: tuple[MerchantCategory, ...] = ()
    regions: tuple[str, ...] = ()  # region code prefixes of the store's region
    store_ids: tuple[uuid.UUID, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.merchant_ids or self.merchant_categories or self.regions or self.store_ids)


@dataclass(frozen=True, slots=True)
class Benefit:
    """What the member gets. Which fields are used depends on ``kind``:

    * ``percent_off``: ``basis_points`` (1–10000), optional ``cap_fen`` per redemption
    * ``amount_off``: ``off_fen``, optional ``min_spend_fen``
    * ``fixed_price``: ``price_fen`` per unit
    * ``free_units``: optional ``per_unit_fen`` the federation pays the merchant per unit
    * ``subsidy``: ``per_unit_fen`` the federation pays per unit (and the member saves)
    """

    kind: BenefitKind
    basis_points: int | None = None
    cap_fen: int | None = None
    off_fen: int | None = None
    min_spend_fen: int | None = None
    price_fen: int | None = None
    per_unit_fen: int | None = None
    funded_by: Funding = Funding.merchant


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    key: str
    metric: Metric
    scope: LimitScope
    period: Period
    limit: int
    on_exceed: OnExceed = OnExceed.reject

    @property
    def is_budget(self) -> bool:
        """A budget is a hard amount limit over the whole programme."""
        return self.metric is Metric.amount and self.scope is LimitScope.program


@dataclass(frozen=True, slots=True)
class Stacking:
    mode: StackingMode = StackingMode.exclusive
    group: str | None = None


@dataclass(frozen=True, slots=True)
class ProgramRules:
    name: str
    benefit: Benefit
    description: str = ""
    valid_from: datetime | None = None  # inclusive, UTC
    valid_until: datetime | None = None  # exclusive, UTC
    timezone: str = DEFAULT_ZONE
    priority: int = 0  # higher applies first when stacking
    stacking: Stacking = field(default_factory=Stacking)
    eligibility: Eligibility = field(default_factory=Eligibility)
    scope: Scope = field(default_factory=Scope)
    limits: tuple[LimitPolicy, ...] = ()
    # False: only the single-use rotating code of the phone is accepted, not the static code
    # printed on a card (which a copy or photo could reuse). Enforced by the merchant API.
    accept_static_tokens: bool = True


def _dt(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def eligibility_to_json(e: Eligibility) -> dict[str, Any]:
    """The canonical JSON form of an eligibility rule (a programme's, or an activity's)."""
    return {
        "categories_any": list(e.categories_any),
        "categories_none": list(e.categories_none),
        "hardship_levels": list(e.hardship_levels),
        "min_tenure_days": e.min_tenure_days,
        "min_age": e.min_age,
        "max_age": e.max_age,
        "org_ids": [str(i) for i in e.org_ids],
        "regions": list(e.regions),
    }


def rules_to_json(rules: ProgramRules) -> dict[str, Any]:
    """The canonical JSON form of ``rules`` (what a version stores)."""
    b = rules.benefit
    benefit: dict[str, Any] = {"kind": b.kind.value}
    for name in (
        "basis_points",
        "cap_fen",
        "off_fen",
        "min_spend_fen",
        "price_fen",
        "per_unit_fen",
    ):
        if (v := getattr(b, name)) is not None:
            benefit[name] = v
    if b.kind in (BenefitKind.percent_off, BenefitKind.amount_off, BenefitKind.fixed_price):
        benefit["funded_by"] = b.funded_by.value
    e, s = rules.eligibility, rules.scope
    return {
        "name": rules.name,
        "description": rules.description,
        "valid_from": _dt(rules.valid_from),
        "valid_until": _dt(rules.valid_until),
        "timezone": rules.timezone,
        "priority": rules.priority,
        "stacking": {"mode": rules.stacking.mode.value}
        | ({"group": rules.stacking.group} if rules.stacking.group else {}),
        "eligibility": eligibility_to_json(e),
        "scope": {
            "merchant_ids": [str(i) for i in s.merchant_ids],
            "merchant_categories": [c.value for c in s.merchant_categories],
            "regions": list(s.regions),
            "store_ids": [str(i) for i in s.store_ids],
        },
        "benefit": benefit,
        "limits": [
            {
                "key": p.key,
                "metric": p.metric.value,
                "scope": p.scope.value,
                "period": p.period.value,
                "limit": p.limit,
                "on_exceed": p.on_exceed.value,
            }
            for p in rules.limits
        ],
        "accept_static_tokens": rules.accept_static_tokens,
    }
