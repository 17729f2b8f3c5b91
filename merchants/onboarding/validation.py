"""Field checks for onboarding; each failure names the field, in Chinese and English."""

from __future__ import annotations

import re

import phonenumbers
from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc as stdnum_uscc

from cardsvc.kernel.errors import ValidationError
from cardsvc.kernel.regions import parse_region

REGION_RE = re.compile(r"^[1-9]\d{5}$")
ACCOUNT_RE = re.compile(r"^\d{8,32}$")


def text(field: str, value: str, lo: int, hi: int) -> str:
    value = value.strip()
    if not lo <= len(value) <= hi:
        raise ValidationError.field(
            field, f"长度应为 {lo}–{hi} 个字符", f"{field} must be {lo}–{hi} characters"
        )
    return value


def optional_text(field: str, value: str | None, hi: int) -> str | None:
    if value is None or not value.strip():
        return None
    return text(field, value, 1, hi)


def uscc(value: str) -> str:
    """The 18-character unified social credit code, upper-case, check character verified."""
    try:
        return stdnum_uscc.validate(value)
    except stdnum_errors.InvalidLength:
        raise ValidationError.field(
            "uscc", "统一社会信用代码应为 18 位", "the unified social credit code has 18 characters"
        ) from None
    except stdnum_errors.InvalidChecksum:
        raise ValidationError.field(
            "uscc",
            "统一社会信用代码校验位不正确，请核对",
            "the check character of the unified social credit code is wrong",
        ) from None
    except stdnum_errors.ValidationError:
        raise ValidationError.field(
            "uscc",
            "统一社会信用代码格式不正确（前 8 位为数字，其余为数字或除 I、O、Z、S、V 外的大写字母）",
            "malformed unified social credit code",
        ) from None


def region(field: str, value: str) -> str:
    value = value.strip()
    if not REGION_RE.match(value):
        raise ValidationError.field(
            field,
            "地区应为 6 位行政区划代码，如 420502（宜昌市西陵区）",
            "region must be a 6-digit administrative division code, e.g. 420502",
        )
    return parse_region(field, value)  # a code missing from the GB/T 2260 table is refused


def phone(field: str, value: str) -> str:
    """A mainland mobile or landline number, returned in E.164."""
    try:
        num = phonenumbers.parse(value.strip(), "CN")
    except phonenumbers.NumberParseException:
        num = None
    if num is None or not phonenumbers.is_valid_number(num):
        raise ValidationError.field(
            field,
            "电话号码无效（手机号或带区号的固定电话）",
            "invalid phone number (mobile, or landline with area code)",
        )
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def bank_account(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value)
    if not ACCOUNT_RE.match(digits):
        raise ValidationError.field(
            "bank_account_number",
            "银行账号应为 8–32 位数字",
            "the bank account number must be 8–32 digits",
        )
    return digits
