"""Masked forms of personal data, the only ones any response, page, export or card shows.

Staff without the unmask permission, merchants and printed cards all see these forms; the plain
values leave the database only through an audited read.
"""

from __future__ import annotations

import re
import unicodedata

_ID_SEPARATORS = re.compile(r"[\s\-‐‑–—]+")


def is_cjk(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("CJK UNIFIED IDEOGRAPH") or ch == "〇"


def is_latin_letter(ch: str) -> bool:
    return ch.isalpha() and "LATIN" in unicodedata.name(ch, "")


def normalize_id_number(raw: str) -> str:
    """Full-width to ASCII, separators removed, check character upper-case (no validation)."""
    text = unicodedata.normalize("NFKC", raw or "")
    return _ID_SEPARATORS.sub("", text).upper()


def _mask_middle(chars: str, keep: set[int]) -> str:
    return "".join(ch if i in keep or ch in "· '-" else "*" for i, ch in enumerate(chars))


def mask_name(name: str) -> str:
    """``张三明`` → ``张*明``, ``张三`` → ``张*``, ``欧阳娜娜`` → ``欧**娜``, ``李`` → ``*``.

    ``John Smith`` → ``J*** S****``.

    Chinese names keep the first and the last character (and ``·`` separators); Latin names
    keep each word's initial, which is what a cashier needs to match a face to a card.
    """
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" * len(name)  # a one-character name would be shown whole
    if any(is_latin_letter(ch) for ch in name) and not any(is_cjk(ch) for ch in name):
        return " ".join(w[0] + "*" * (len(w) - 1) for w in name.split())
    if len(name) == 2:
        return name[0] + "*"
    return _mask_middle(name, {0, len(name) - 1})


def mask_id_number(number: str) -> str:
    """``11010519491231002X`` → ``110***********002X`` (first 3 and last 4 characters)."""
    number = normalize_id_number(number)
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_phone(phone: str) -> str:
    """``+8613856785678`` or ``13856785678`` → ``138****5678``."""
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", phone or ""))
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    elif len(digits) == 15 and digits.startswith("0086"):
        digits = digits[4:]
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


_PROVINCE = re.compile(r"^(北京市|天津市|上海市|重庆市|.+?(?:省|自治区|特别行政区))")


def coarse_region(region: str | None) -> str | None:
    """Province level only: ``湖北省宜昌市秭归县`` → ``湖北省``, ``北京市东城区`` → ``北京市``.

    A household-registration region names the first six digits of the ID number; the province
    is all a role that may not unmask needs. A name without a province part (``西陵区``) gives
    None rather than the finer name.
    """
    match = _PROVINCE.match((region or "").strip())
    return match.group(1) if match else None


def mask_card_number(card_no: str) -> str:
    """Only the last four digits: ``9123510000000019`` → ``**** **** **** 0019``."""
    digits = re.sub(r"\s", "", card_no or "")
    if len(digits) <= 4:
        return "*" * len(digits)
    masked = "*" * (len(digits) - 4) + digits[-4:]
    # Group in fours from the right so the visible tail is one group.
    head = len(masked) % 4
    groups = ([masked[:head]] if head else []) + [
        masked[i : i + 4] for i in range(head, len(masked), 4)
    ]
    return " ".join(groups)


def mask_account(last4: str | None) -> str | None:
    """A settlement bank account, of which only the last four digits are ever stored."""
    return f"**** **** {last4}" if last4 else None
