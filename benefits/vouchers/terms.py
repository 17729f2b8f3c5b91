"""A voucher campaign's terms: what one voucher is worth, where and by whom it may be used,
how long it stays valid after the claim, and who pays the merchant.

The eligibility and scope are the programme rules' own (``benefits.rules.eligibility``,
``benefits.rules.scope``), parsed by the same collector, so a campaign reads like a programme.
JSON shape::

    {"value": {"kind": "amount_off", "off_fen": 1000, "min_spend_fen": 5000}
            | {"kind": "percent_off", "basis_points": 2000, "cap_fen": 3000, "min_spend_fen": 0},
     "funded_by": "federation" | "merchant",
     "valid_days": 7  |  "valid_until": "2027-01-31T16:00:00Z",
     "eligibility": {...}, "scope": {...}, "description": "…"}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from benefits.errors import FieldError, ValidationError
from benefits.rules.programme import Eligibility, Funding, Scope
from benefits.rules.validation import MAX_FEN, Collector, collect_eligibility, collect_scope

VOUCHER_KINDS = ("amount_off", "percent_off")
_TOP = {"value", "funded_by", "valid_days", "valid_until", "eligibility", "scope", "description"}


@dataclass(frozen=True, slots=True)
class VoucherValue:
    kind: str  # amount_off | percent_off
    off_fen: int | None = None
    basis_points: int | None = None
    cap_fen: int | None = None
    min_spend_fen: int = 0

    def discount(self, spend_fen: int) -> int:
        """What the voucher takes off a bill of ``spend_fen`` (0 below the minimum spend)."""
        if spend_fen < self.min_spend_fen or spend_fen <= 0:
            return 0
        if self.kind == "amount_off":
            return min(self.off_fen or 0, spend_fen)
        off = (spend_fen * (self.basis_points or 0) + 5000) // 10000
        return min(off, self.cap_fen) if self.cap_fen is not None else off


@dataclass(frozen=True, slots=True)
class Terms:
    value: VoucherValue
    funded_by: Funding = Funding.federation
    valid_days: int | None = None
    valid_until: datetime | None = None
    eligibility: Eligibility = field(default_factory=Eligibility)
    scope: Scope = field(default_factory=Scope)
    description: str = ""

    def expiry(self, claimed_at: datetime) -> datetime:
        if self.valid_days is not None:
            return claimed_at + timedelta(days=self.valid_days)
        assert self.valid_until is not None
        return self.valid_until


def _value(c: Collector, raw: Any) -> VoucherValue | None:
    data = c.mapping(raw, "value")
    if raw is None:
        c.add("value", "必填", "is required")
        return None
    kind = data.get("kind")
    if kind not in VOUCHER_KINDS:
        c.add("value.kind", "取值无效，可选：amount_off, percent_off", "unknown value")
        return None
    allowed = {"kind", "min_spend_fen"} | (
        {"off_fen"} if kind == "amount_off" else {"basis_points", "cap_fen"}
    )
    c.unknown_keys(data, allowed, "value.")
    min_spend = c.integer(data.get("min_spend_fen"), "value.min_spend_fen", lo=0, hi=MAX_FEN)
    if kind == "amount_off":
        off = c.integer(data.get("off_fen"), "value.off_fen", lo=1, hi=MAX_FEN, required=True)
        return VoucherValue(kind, off_fen=off, min_spend_fen=min_spend or 0) if off else None
    bp = c.integer(data.get("basis_points"), "value.basis_points", lo=1, hi=10_000, required=True)
    cap = c.integer(data.get("cap_fen"), "value.cap_fen", lo=1, hi=MAX_FEN)
    return (
        VoucherValue(kind, basis_points=bp, cap_fen=cap, min_spend_fen=min_spend or 0)
        if bp
        else None
    )


def parse_terms(data: Any) -> Terms:
    """Terms from JSON, or one ValidationError naming every bad field (``terms.`` paths)."""
    c = Collector()
    top = c.mapping(data, "terms")
    c.unknown_keys(top, _TOP, "")
    value = _value(c, top.get("value"))
    funded = c.choice(top.get("funded_by"), "funded_by", Funding, default=Funding.federation)
    days = c.integer(top.get("valid_days"), "valid_days", lo=1, hi=3660)
    until = c.instant(top.get("valid_until"), "valid_until")
    if (days is None) == (until is None) and "valid_days" not in {e.field for e in c.errors}:
        c.add("valid_days", "须填写有效天数或截止时间之一", "give either valid_days or valid_until")
    eligibility = collect_eligibility(c, c.mapping(top.get("eligibility"), "eligibility"))
    scope = collect_scope(c, c.mapping(top.get("scope"), "scope"))
    description = c.text(top.get("description"), "description", max_len=2000) or ""
    if c.errors or value is None:
        errors = c.errors or [FieldError("value", "必填", "is required")]
        raise ValidationError.from_fields(
            [FieldError(f"terms.{e.field}", e.reason_zh, e.reason_en) for e in errors]
        )
    return Terms(value, funded or Funding.federation, days, until, eligibility, scope, description)
