"""Bad programme definitions are refused with the offending field named."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from benefits.errors import ValidationError
from benefits.rules.programme import rules_to_json
from benefits.rules.validation import parse_rules
from tests.benefits.conftest import rules


def fields_of(data: Any, *, for_publish: bool = False) -> set[str]:
    with pytest.raises(ValidationError) as info:
        parse_rules(data, for_publish=for_publish)
    assert info.value.status == 422 and info.value.code == "validation_error"
    return {e.field for e in info.value.errors}


def test_valid_rules_round_trip_through_json() -> None:
    parsed = parse_rules(
        rules(
            valid_from="2025-01-01T00:00:00+08:00",
            valid_until="2026-01-01T00:00:00+08:00",
            timezone="Europe/Berlin",
            priority=5,
            stacking={"mode": "group", "group": "dining"},
            eligibility={
                "categories_any": ["hardship"],
                "hardship_levels": [1, 2],
                "min_age": 18,
                "max_age": 60,
                "min_tenure_days": 30,
                "org_ids": ["00000000-0000-7000-8000-000000000002"],
                "regions": ["11"],
            },
            limits=[
                {
                    "metric": "amount",
                    "scope": "program",
                    "period": "month",
                    "limit": 100000,
                    "on_exceed": "clamp",
                }
            ],
        ),
        for_publish=True,
    )
    assert parse_rules(rules_to_json(parsed)) == parsed
    assert parsed.limits[0].key == "program_month_amount"
    assert parsed.limits[0].is_budget
    assert parsed.valid_from is not None and parsed.valid_from.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"benefit": {"kind": "percent_off", "basis_points": 10001}}, "benefit.basis_points"),
        ({"benefit": {"kind": "percent_off", "basis_points": 0}}, "benefit.basis_points"),
        (
            {"benefit": {"kind": "percent_off", "basis_points": 500, "cap_fen": 0}},
            "benefit.cap_fen",
        ),
        ({"benefit": {"kind": "amount_off", "off_fen": -5}}, "benefit.off_fen"),
        ({"benefit": {"kind": "amount_off"}}, "benefit.off_fen"),
        ({"benefit": {"kind": "subsidy", "per_unit_fen": 0}}, "benefit.per_unit_fen"),
        ({"benefit": {"kind": "cashback", "basis_points": 5}}, "benefit.kind"),
        (
            {"benefit": {"kind": "fixed_price", "price_fen": 100, "basis_points": 5}},
            "benefit.basis_points",
        ),
        ({"benefit": {"kind": "percent_off", "basis_points": True}}, "benefit.basis_points"),
        (
            {"limits": [{"metric": "count", "scope": "member", "period": "day", "limit": 0}]},
            "limits[0].limit",
        ),
        (
            {"limits": [{"metric": "count", "scope": "member", "period": "day", "limit": -3}]},
            "limits[0].limit",
        ),
        (
            {"limits": [{"metric": "count", "scope": "member", "period": "fortnight", "limit": 1}]},
            "limits[0].period",
        ),
        (
            {"limits": [{"metric": "visits", "scope": "member", "period": "day", "limit": 1}]},
            "limits[0].metric",
        ),
        (
            {"limits": [{"metric": "count", "scope": "family", "period": "day", "limit": 1}]},
            "limits[0].scope",
        ),
        (
            {
                "limits": [
                    {
                        "metric": "count",
                        "scope": "member",
                        "period": "day",
                        "limit": 1,
                        "on_exceed": "clamp",
                    }
                ]
            },
            "limits[0].on_exceed",
        ),
        (
            {
                "limits": [
                    {"metric": "count", "scope": "member", "period": "day", "limit": 1},
                    {"metric": "count", "scope": "member", "period": "day", "limit": 2},
                ]
            },
            "limits[1].key",
        ),
        ({"timezone": "Asia/Beijing"}, "timezone"),
        ({"timezone": "../etc/passwd"}, "timezone"),
        (
            {"valid_from": "2025-02-01T00:00:00Z", "valid_until": "2025-01-01T00:00:00Z"},
            "valid_until",
        ),
        (
            {"valid_from": "2025-02-01T00:00:00Z", "valid_until": "2025-02-01T00:00:00Z"},
            "valid_until",
        ),
        ({"valid_from": "2025-02-01T00:00:00"}, "valid_from"),
        ({"valid_until": "next tuesday"}, "valid_until"),
        ({"name": "  "}, "name"),
        ({"stacking": {"mode": "group"}}, "stacking.group"),
        ({"stacking": {"mode": "exclusive", "group": "x"}}, "stacking.group"),
        ({"eligibility": {"categories_any": ["astronaut"]}}, "eligibility.categories_any[0]"),
        (
            {"eligibility": {"categories_any": ["retired"], "categories_none": ["retired"]}},
            "eligibility.categories_none",
        ),
        ({"eligibility": {"min_age": 60, "max_age": 18}}, "eligibility.max_age"),
        ({"eligibility": {"org_ids": ["not-a-uuid"]}}, "eligibility.org_ids[0]"),
        # Region codes are GB/T 2260 digits in pairs: anything else could never match.
        ({"eligibility": {"regions": ["hubei"]}}, "eligibility.regions[0]"),
        ({"eligibility": {"regions": ["42", "420"]}}, "eligibility.regions[1]"),
        ({"scope": {"regions": ["4205-01"]}}, "scope.regions[0]"),
        ({"scope": {"regions": ["4205020"]}}, "scope.regions[0]"),
        ({"scope": {"merchant_categories": ["casino"]}}, "scope.merchant_categories[0]"),
        ({"scope": {"store_ids": [42]}}, "scope.store_ids[0]"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_field_is_named(override: dict[str, Any], field: str) -> None:
    assert field in fields_of(rules(**override))


def test_empty_scope_is_fine_for_a_draft_but_not_for_publishing() -> None:
    draft = rules(scope={})
    assert parse_rules(draft).scope.is_empty
    assert fields_of(draft, for_publish=True) == {"scope"}


def test_all_errors_are_reported_at_once() -> None:
    bad = rules(
        name="",
        timezone="Mars/Olympus",
        benefit={"kind": "percent_off", "basis_points": 20000},
        limits=[{"metric": "count", "scope": "member", "period": "day", "limit": 0}],
    )
    assert fields_of(bad) == {"name", "timezone", "benefit.basis_points", "limits[0].limit"}


def test_messages_are_bilingual() -> None:
    with pytest.raises(ValidationError) as info:
        parse_rules(rules(benefit={"kind": "percent_off", "basis_points": 10001}))
    err = info.value.errors[0]
    assert "100%" in err.reason_zh and "100 %" in err.reason_en
    assert info.value.message_zh.startswith("benefit.basis_points")


def test_not_an_object() -> None:
    assert fields_of([1, 2]) == {"rules"}
    assert "benefit" in fields_of({"name": "x"})
