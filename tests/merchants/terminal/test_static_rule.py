"""The programme rule ``accept_static_tokens`` (added to benefits for the merchant API)."""

from __future__ import annotations

import pytest

from benefits.errors import ValidationError
from benefits.rules.programme import rules_to_json
from benefits.rules.validation import parse_rules

BASE = {
    "name": "仅限手机码",
    "benefit": {"kind": "percent_off", "basis_points": 1000},
    "scope": {"merchant_categories": ["dining"]},
}


def test_defaults_to_accepting_static_codes_and_round_trips() -> None:
    rules = parse_rules(BASE)
    assert rules.accept_static_tokens is True
    refusing = parse_rules({**BASE, "accept_static_tokens": False})
    assert refusing.accept_static_tokens is False
    assert rules_to_json(refusing)["accept_static_tokens"] is False
    assert parse_rules(rules_to_json(refusing)) == refusing


@pytest.mark.parametrize("bad", ["no", 0, 1, [], {}])
def test_must_be_a_boolean(bad: object) -> None:
    with pytest.raises(ValidationError) as info:
        parse_rules({**BASE, "accept_static_tokens": bad})
    assert [e.field for e in info.value.errors] == ["accept_static_tokens"]
