"""What a benefit is worth on a given amount: pure integer arithmetic in fen.

``discount_fen`` is what the member does not pay (never more than the amount, so the payable
amount is never negative); ``subsidy_fen`` is what the federation owes the merchant for it.
``value_fen`` = max(discount, subsidy) is what ``amount`` limits and budgets count.

=============  =============================================  ===========================
kind           discount                                       subsidy
=============  =============================================  ===========================
percent_off    amount × bp / 10000, half-up, ≤ cap_fen        = discount if federation-funded
amount_off     off_fen (only if amount ≥ min_spend_fen)       = discount if federation-funded
fixed_price    amount − price_fen × units (≥ 0)               = discount if federation-funded
free_units     the whole amount of the covered units          per_unit_fen × units
subsidy        per_unit_fen × units (≤ amount)                = discount
=============  =============================================  ===========================
"""

from __future__ import annotations

from dataclasses import dataclass

from benefits.errors import Reason
from benefits.rules.money import format_yuan, percent_of, prorate
from benefits.rules.programme import Benefit, BenefitKind, Funding


# Not frozen, unlike most value types here: one is built per redemption, and a frozen
# dataclass's __init__ (object.__setattr__ per field) costs five times as much. Read-only by use.
@dataclass(slots=True)
class Outcome:
    units: int
    base_fen: int
    discount_fen: int
    subsidy_fen: int

    @property
    def value_fen(self) -> int:
        return max(self.discount_fen, self.subsidy_fen)


def compute(benefit: Benefit, base_fen: int, units: int) -> Outcome | Reason:
    """The benefit on ``base_fen`` for ``units`` units, or the reason it does not apply."""
    if base_fen < 0 or units < 1:
        raise ValueError("base_fen must be >= 0 and units >= 1")
    kind = benefit.kind
    subsidy: int | None = None
    if kind is BenefitKind.percent_off:
        assert benefit.basis_points is not None
        discount = percent_of(base_fen, benefit.basis_points)
        if benefit.cap_fen is not None:
            discount = min(discount, benefit.cap_fen)
    elif kind is BenefitKind.amount_off:
        assert benefit.off_fen is not None
        if benefit.min_spend_fen is not None and base_fen < benefit.min_spend_fen:
            return Reason(
                "below_min_spend",
                f"消费满 {format_yuan(benefit.min_spend_fen)} 才可使用",
                f"Only for a spend of at least {format_yuan(benefit.min_spend_fen)}",
                {"min_spend_fen": benefit.min_spend_fen},
            )
        discount = benefit.off_fen
    elif kind is BenefitKind.fixed_price:
        assert benefit.price_fen is not None
        discount = base_fen - benefit.price_fen * units
    elif kind is BenefitKind.free_units:
        discount = base_fen
        subsidy = (benefit.per_unit_fen or 0) * units
    else:  # subsidy
        assert benefit.per_unit_fen is not None
        discount = benefit.per_unit_fen * units
    discount = max(0, min(discount, base_fen))
    if subsidy is None:
        federation_pays = kind is BenefitKind.subsidy or benefit.funded_by is Funding.federation
        subsidy = discount if federation_pays else 0
    return Outcome(units=units, base_fen=base_fen, discount_fen=discount, subsidy_fen=subsidy)


def with_fewer_units(benefit: Benefit, outcome: Outcome, units: int) -> Outcome:
    """The outcome when a units limit grants only ``units`` of the requested units.

    The amount is taken to be spread evenly over the requested units, so the covered part of it
    is prorated (half-up).
    """
    if units >= outcome.units:
        return outcome
    base = prorate(outcome.base_fen, units, outcome.units)
    result = compute(benefit, base, units)
    if isinstance(result, Reason):  # a smaller base can fall below a minimum spend
        return Outcome(units=units, base_fen=base, discount_fen=0, subsidy_fen=0)
    return result


def with_value_cap(outcome: Outcome, value_fen: int) -> Outcome:
    """The outcome when an amount limit has only ``value_fen`` left."""
    if value_fen >= outcome.value_fen:
        return outcome
    return Outcome(
        units=outcome.units,
        base_fen=outcome.base_fen,
        discount_fen=min(outcome.discount_fen, value_fen),
        subsidy_fen=min(outcome.subsidy_fen, value_fen),
    )
