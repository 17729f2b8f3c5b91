"""The shop forms' field parsing (pure functions; no browser needed)."""

from __future__ import annotations

import pytest

from cardsvc.kernel.errors import ValidationError
from cardsvc.pages.shop.forms import (
    fen_to_yuan_text,
    idempotency_key_of,
    new_idempotency_key,
    scanned_code,
    units_of,
    yuan_to_fen,
)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("88", 8800),
        ("88.5", 8850),
        ("88.50", 8850),
        ("¥1,234.05", 123405),
        ("８８．５", 8850),
        ("0", 0),
        (" 0.01 ", 1),
    ],
)
def test_yuan_to_fen(text: str, fen: int) -> None:
    assert yuan_to_fen(text, required=True) == fen
    assert fen_to_yuan_text(fen) == f"{fen // 100}.{fen % 100:02d}"


@pytest.mark.parametrize("text", ["-1", "1.234", "abc", "1e3", "12345678901.00"])
def test_bad_amounts_are_refused_in_chinese(text: str) -> None:
    with pytest.raises(ValidationError) as e:
        yuan_to_fen(text, required=False)
    assert "金额" in e.value.message_zh


def test_an_empty_amount() -> None:
    assert yuan_to_fen("", required=False) is None
    with pytest.raises(ValidationError, match="amount"):
        yuan_to_fen("  ", required=True)


def test_the_scanned_code_is_trimmed_and_upper_cased() -> None:
    assert scanned_code("  uc1abc\r\n") == "UC1ABC"
    with pytest.raises(ValidationError):
        scanned_code("   ")
    with pytest.raises(ValidationError) as e:
        scanned_code("U" * 600)
    assert e.value.code == "malformed"


def test_units_and_keys() -> None:
    assert units_of("") == 1 and units_of("3") == 3
    for bad in ("0", "-1", "1.5", "x", "10001"):
        with pytest.raises(ValidationError):
            units_of(bad)
    a, b = new_idempotency_key(), new_idempotency_key()
    assert a != b and a.startswith("shop-") and len(a) <= 128 and a.isascii()
    with pytest.raises(ValidationError) as e:
        idempotency_key_of("")
    assert e.value.code == "idempotency_key_required"
