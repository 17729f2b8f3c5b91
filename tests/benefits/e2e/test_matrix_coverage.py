"""The matrix is complete: every field and kind of the rules has an end-to-end case.

The universe is read from the rules themselves (dataclass fields, enum members, what the
validator accepts per benefit kind), so a field or kind added to the rules without a case in
tests/benefits/e2e/ fails here. Each test module declares what it covers in ``COVERS``.
"""

from __future__ import annotations

import dataclasses

from benefits.routes.schemas import ProgramIn
from benefits.rules import validation
from benefits.rules.periods import Period
from benefits.rules.programme import (
    Benefit,
    BenefitKind,
    Eligibility,
    Funding,
    LimitPolicy,
    LimitScope,
    MerchantCategory,
    Metric,
    OnExceed,
    ProgramRules,
    Scope,
)
from tests.benefits.e2e import (
    test_benefit_e2e,
    test_categories_e2e,
    test_eligibility_e2e,
    test_limits_e2e,
    test_programme_e2e,
    test_scope_e2e,
    test_stacking_e2e,
)

# Cases other work owns, with their own end-to-end tests (remove an entry once they land here).
DEFERRED: dict[str, str] = {}

# Parts of the rules that are containers of the fields below, not rules of their own.
_CONTAINERS = {"eligibility", "scope", "benefit", "limits", "timezone"}


def _names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def universe() -> set[str]:
    per_kind = validation._BENEFIT_FIELDS
    limits = {
        f"limit.{m.value}.{s.value}.{o.value}"
        for m in Metric
        for s in LimitScope
        for o in OnExceed
        if not (m is Metric.count and o is OnExceed.clamp)  # refused by the validator
    }
    return (
        {f"eligibility.{n}" for n in _names(Eligibility)}
        | {f"scope.{n}" for n in _names(Scope)}
        | {f"benefit.{k.value}.kind" for k in BenefitKind}
        | {f"benefit.{k.value}.{f}" for k, fields in per_kind.items() for f in fields}
        | {f"funding.{f.value}" for f in Funding}
        | {f"merchant_category.{c.value}" for c in MerchantCategory}
        | limits
        | {f"limit.period.{p.value}" for p in Period}
        | (_names(ProgramRules) - _CONTAINERS)
        | {"timezone", "owner_org_id", "member.status", "lifecycle"}
    )


def covered() -> set[str]:
    modules = (
        test_eligibility_e2e,
        test_scope_e2e,
        test_benefit_e2e,
        test_limits_e2e,
        test_programme_e2e,
        test_categories_e2e,
        test_stacking_e2e,
    )
    return set().union(*(m.COVERS for m in modules))


def test_every_rule_field_and_kind_has_an_end_to_end_case() -> None:
    missing = universe() - covered() - set(DEFERRED)
    assert not missing, f"no end-to-end case in tests/benefits/e2e/ for: {sorted(missing)}"


def test_the_matrix_names_only_real_fields() -> None:
    unknown = (covered() | set(DEFERRED)) - universe()
    assert not unknown, f"the matrix names what the rules do not have: {sorted(unknown)}"


def test_the_universe_is_read_from_every_part_of_the_rules() -> None:
    """New parts must join the universe above: a field of the benefit the validator does not
    list per kind, a field of a limit policy, a new top-level rule or staff API field."""
    per_kind = set().union(*validation._BENEFIT_FIELDS.values())
    assert _names(Benefit) - {"kind"} == per_kind
    assert _names(LimitPolicy) == {"key", "metric", "scope", "period", "limit", "on_exceed"}
    assert _names(ProgramRules) == validation._TOP_KEYS
    assert set(ProgramIn.__struct_fields__) == {"code", "owner_org_id", "rules"}
    assert set(BenefitKind) == set(validation._BENEFIT_FIELDS)
