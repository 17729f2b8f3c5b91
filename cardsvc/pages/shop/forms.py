"""Reading the cashier's form fields: the scanned code, an amount in yuan, units."""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Any

from uuid_utils.compat import uuid7

from cardsvc.kernel.errors import ValidationError

MAX_CODE = 512  # as the API (the real codes are 147 characters)
MAX_FEN = 10**12
MAX_UNITS = 10_000
_YUAN = re.compile(r"^(\d{1,10})(?:\.(\d{1,2}))?$")


def new_idempotency_key() -> str:
    """One per rendered redeem or void form: a double-click or a retry sends the same key."""
    return f"shop-{uuid7().hex}"


def field(form: Any, name: str) -> str:
    value = form.get(name, "") if form is not None else ""
    return str(value or "")


def scanned_code(text: str) -> str:
    """The wedge scanner types the code and Enter; the decoder wants it trimmed, upper case
    (docs/token-format.md §4: scanners and keyboard layouts change case)."""
    code = unicodedata.normalize("NFKC", text).strip().upper()
    if not code:
        raise ValidationError(
            message_zh="请扫描会员卡二维码或输入卡码",
            message_en="Scan the member's QR code or type the code",
        )
    if len(code) > MAX_CODE:
        raise ValidationError(
            code="malformed", message_zh="会员卡码无法识别", message_en="Not a valid UnionCard code"
        )
    return code


def yuan_to_fen(text: str, *, required: bool) -> int | None:
    """``88`` / ``88.5`` / ``¥88.50`` (full-width digits too) → 8850 fen."""
    s = unicodedata.normalize("NFKC", text).strip().replace(",", "").lstrip("¥").strip()
    if not s:
        if required:
            raise ValidationError(
                message_zh="请输入消费金额（元）", message_en="Enter the bill amount (yuan)"
            )
        return None
    m = _YUAN.match(s)
    if m is None:
        raise ValidationError(
            message_zh="消费金额格式不正确，例如 88 或 88.50",
            message_en="The amount must look like 88 or 88.50",
        )
    fen = int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))
    if fen > MAX_FEN:
        raise ValidationError(message_zh="消费金额过大", message_en="The amount is too large")
    return fen


def units_of(text: str) -> int:
    s = unicodedata.normalize("NFKC", text).strip() or "1"
    if not s.isdigit() or not 1 <= int(s) <= MAX_UNITS:
        raise ValidationError(
            message_zh=f"数量应为 1–{MAX_UNITS} 的整数",
            message_en=f"The quantity must be a whole number from 1 to {MAX_UNITS}",
        )
    return int(s)


def uuid_of(text: str, what_zh: str, what_en: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ValidationError(
            message_zh=f"{what_zh}无效，请重新扫码", message_en=f"Invalid {what_en}; scan again"
        ) from None


def idempotency_key_of(text: str) -> str:
    key = text.strip()
    if not key:  # an old form without one: never redeem without a key
        raise ValidationError(
            code="idempotency_key_required",
            message_zh="表单已过期，请重新扫码",
            message_en="The form has expired; scan again",
        )
    return key


def fen_to_yuan_text(fen: int | None) -> str:
    """For an input's value: 8850 → ``88.50``."""
    if fen is None:
        return ""
    return f"{fen // 100}.{fen % 100:02d}"
