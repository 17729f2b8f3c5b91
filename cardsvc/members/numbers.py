"""Human-readable member and card numbers with a Luhn check digit.

A Luhn digit catches every single-digit typo and almost every swap of adjacent digits, so a
number read out over the 12351 line or typed at a till is rejected before any lookup.

- Member number: 11 digits = a 10-digit zero-padded sequence + check digit.
- Card number: 16 digits = a 6-digit issuer prefix + a 9-digit sequence + check digit. The
  prefix starts with 9 (ISO/IEC 7812 "national use"), so it cannot be mistaken for a bank card.
"""

from __future__ import annotations

import re

from stdnum import luhn

from cardsvc.kernel.errors import ValidationError

MEMBER_NO_LENGTH = 11
_MEMBER_SEQ_DIGITS = MEMBER_NO_LENGTH - 1

CARD_ISSUER_PREFIX = "912351"  # 9 = national use; 12351 is the unions' service line
CARD_NO_LENGTH = 16

_SEPARATORS = re.compile(r"[\s\-]+")


def _with_check_digit(body: str) -> str:
    return body + luhn.calc_check_digit(body)


def _is_valid(value: str, length: int, prefix: str = "") -> bool:
    return (
        isinstance(value, str)
        and len(value) == length
        and value.isascii()
        and value.isdigit()
        and value.startswith(prefix)
        and luhn.is_valid(value)
    )


def format_member_no(seq: int) -> str:
    """``1`` → ``00000000018``: the sequence zero-padded to 10 digits, then the check digit."""
    if not 0 < seq < 10**_MEMBER_SEQ_DIGITS:
        raise ValueError(f"member sequence out of range: {seq}")
    return _with_check_digit(f"{seq:0{_MEMBER_SEQ_DIGITS}d}")


def is_valid_member_no(value: str) -> bool:
    return _is_valid(value, MEMBER_NO_LENGTH)


def clean_member_no(raw: str, *, field: str = "member_no") -> str:
    """Strip spaces/hyphens a person may type and check the digit, or a field error."""
    value = _SEPARATORS.sub("", raw or "")
    if not is_valid_member_no(value):
        raise ValidationError.field(
            field,
            f"会员编号无效：应为{MEMBER_NO_LENGTH}位数字且校验位正确",
            f"Invalid member number: {MEMBER_NO_LENGTH} digits with a valid check digit",
        )
    return value


def format_card_no(seq: int, *, prefix: str = CARD_ISSUER_PREFIX) -> str:
    """``1`` → ``9123510000000019``: issuer prefix, zero-padded sequence, check digit."""
    seq_digits = CARD_NO_LENGTH - 1 - len(prefix)
    if not (prefix.isdigit() and seq_digits > 0):
        raise ValueError(f"bad card issuer prefix: {prefix!r}")
    if not 0 < seq < 10**seq_digits:
        raise ValueError(f"card sequence out of range: {seq}")
    return _with_check_digit(f"{prefix}{seq:0{seq_digits}d}")


def is_valid_card_no(value: str, *, prefix: str = CARD_ISSUER_PREFIX) -> bool:
    return _is_valid(value, CARD_NO_LENGTH, prefix)


def clean_card_no(raw: str, *, prefix: str = CARD_ISSUER_PREFIX, field: str = "card_no") -> str:
    value = _SEPARATORS.sub("", raw or "")
    if not is_valid_card_no(value, prefix=prefix):
        raise ValidationError.field(
            field,
            f"会员卡号无效：应为{CARD_NO_LENGTH}位数字且校验位正确",
            f"Invalid card number: {CARD_NO_LENGTH} digits with a valid check digit",
        )
    return value


def group4(value: str) -> str:
    """``9123510000000019`` → ``9123 5100 0000 0019`` for display and printing."""
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
