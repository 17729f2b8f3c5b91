"""The programme editor's form ↔ the engine's rule JSON.

Inputs are named by the engine's own field paths (``benefit.basis_points``,
``limits[1].period``), so every ``errors[].field`` the engine reports lands next to its input.
Money is typed in yuan and percentages in percent; both become the engine's integers here.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litestar.datastructures import FormMultiDict

from benefits.errors import FieldError
from merchants.kinds import CATEGORY_LABELS_EN, CATEGORY_LABELS_ZH, MerchantCategory

Values = dict[str, Any]  # input name → text (or list of texts for checkboxes)
# Filled by the search pickers' chips: one hidden input per chosen id.
PICKED = ("eligibility.org_ids", "scope.merchant_ids", "scope.store_ids")

CATEGORIES = ("model_worker", "hardship", "migrant_worker", "flexible_worker", "retired")
# One vocabulary with the merchant pages (merchants.kinds): 工惠驿家, not a second name.
MERCHANT_CATEGORY_LABELS = {
    c.value: (CATEGORY_LABELS_ZH[c], CATEGORY_LABELS_EN[c]) for c in MerchantCategory
}
MERCHANT_CATEGORIES = tuple(MERCHANT_CATEGORY_LABELS)
KINDS = {
    "percent_off": ("折扣（按比例）", "Percent off"),
    "amount_off": ("立减（满减）", "Amount off"),
    "fixed_price": ("会员价", "Fixed price"),
    "free_units": ("免费份数", "Free units"),
    "subsidy": ("按份补贴", "Subsidy per unit"),
}
# Which benefit fields each kind takes (others would be refused as unknown).
KIND_FIELDS = {
    "percent_off": ("basis_points", "cap_fen", "funded_by"),
    "amount_off": ("off_fen", "min_spend_fen", "funded_by"),
    "fixed_price": ("price_fen", "funded_by"),
    "free_units": ("per_unit_fen",),
    "subsidy": ("per_unit_fen",),
}
YUAN_FIELDS = ("cap_fen", "off_fen", "min_spend_fen", "price_fen", "per_unit_fen")
METRICS = {
    "count": ("次数", "Count"),
    "units": ("份数", "Units"),
    "amount": ("金额（元）", "Amount (yuan)"),
}
LIMIT_SCOPES = {
    "member": ("每位会员", "Per member"),
    "member_merchant": ("每位会员每商户", "Per member per merchant"),
    "merchant": ("每商户", "Per merchant"),
    "program": ("整个项目（预算）", "Whole programme (budget)"),
}
PERIODS = {
    "day": ("每天", "Day"),
    "week": ("每周", "Week"),
    "month": ("每月", "Month"),
    "year": ("每年", "Year"),
    "lifetime": ("不限期", "Lifetime"),
}
ON_EXCEED = {"reject": ("拒绝", "Refuse"), "clamp": ("给剩余部分", "Give what is left")}
LIMIT_FIELDS = ("key", "metric", "scope", "period", "limit", "on_exceed")
EXTRA_LIMIT_ROWS = 1  # blank rows offered for a new policy
_LIMIT_NAME = re.compile(r"^limits\[(\d{1,2})\]\.(\w+)$")


def _split(text: str) -> list[str]:
    return [p for p in re.split(r"[\s,,、;;]+", text) if p]


class Reader:
    """Reads form texts into engine values, collecting the fields it cannot read."""

    def __init__(self, values: Values) -> None:
        self.values = values
        self.errors: list[FieldError] = []

    def text(self, name: str) -> str:
        v = self.values.get(name, "")
        return (v[0] if v else "") if isinstance(v, list) else str(v).strip()

    def many(self, name: str) -> list[str]:
        v = self.values.get(name, [])
        return list(v) if isinstance(v, list) else ([v] if v else [])

    def integer(self, name: str) -> int | None:
        t = self.text(name)
        if not t:
            return None
        try:
            return int(t)
        except ValueError:
            self.errors.append(FieldError(name, "请输入整数", "enter a whole number"))
            return None

    def decimal(self, name: str, scale: int) -> int | None:
        """Yuan → fen (scale 100), percent → basis points (scale 100)."""
        t = self.text(name).replace("¥", "").replace("%", "").replace(",", "")
        if not t:
            return None
        try:
            d = Decimal(t) * scale
        except InvalidOperation:
            self.errors.append(FieldError(name, "请输入数字", "enter a number"))
            return None
        if d != d.to_integral_value():
            self.errors.append(FieldError(name, "最多两位小数", "at most two decimals"))
            return None
        return int(d)

    def local_time(self, name: str, zone: str) -> str | None:
        t = self.text(name)
        if not t:
            return None
        try:
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            tz = ZoneInfo("Asia/Shanghai")
        try:
            return datetime.fromisoformat(t).replace(tzinfo=tz).isoformat()
        except ValueError:
            self.errors.append(FieldError(name, "日期时间格式不正确", "invalid date and time"))
            return None


def form_values(form: FormMultiDict) -> Values:
    """The submitted texts; checkbox groups keep every checked value."""
    out: Values = {}
    for key in form:
        vals = [str(v) for v in form.getall(key)]
        multi = key.endswith(("categories_any", "categories_none")) or key in PICKED
        out[key] = vals if multi or key == "scope.merchant_categories" else vals[-1].strip()
    return out


def _picked(r: Reader, name: str) -> list[str]:
    """The ids of a picker's chips (a comma-separated text is read too, as an API client
    would send it)."""
    return [part for value in r.many(name) for part in _split(value)]


def limit_rows(values: Values) -> int:
    """How many limit rows the form shows: those submitted or stored, plus blank ones."""
    seen = [int(m.group(1)) for k in values if (m := _LIMIT_NAME.match(k))]
    return (max(seen) + 1 if seen else 0) + EXTRA_LIMIT_ROWS


def rules_from_values(values: Values) -> tuple[dict[str, Any], list[FieldError]]:
    """The rule JSON the form describes, and the inputs that could not be read as typed."""
    r = Reader(values)
    zone = r.text("timezone") or "Asia/Shanghai"
    rules: dict[str, Any] = {
        "name": r.text("name"),
        "description": r.text("description"),
        "valid_from": r.local_time("valid_from", zone),
        "valid_until": r.local_time("valid_until", zone),
        "timezone": zone,
        "priority": r.integer("priority") or 0,
        "accept_static_tokens": bool(r.text("accept_static_tokens")),
    }
    mode = r.text("stacking.mode") or "exclusive"
    rules["stacking"] = (
        {"mode": "group", "group": r.text("stacking.group")} if mode == "group" else {"mode": mode}
    )
    levels = []
    for part in _split(r.text("eligibility.hardship_levels")):
        if part.isdigit():
            levels.append(int(part))
        else:
            r.errors.append(
                FieldError(
                    "eligibility.hardship_levels",
                    "请填写数字，用逗号分隔",
                    "numbers, comma-separated",
                )
            )
    rules["eligibility"] = {
        "categories_any": r.many("eligibility.categories_any"),
        "categories_none": r.many("eligibility.categories_none"),
        "hardship_levels": levels,
        "min_tenure_days": r.integer("eligibility.min_tenure_days"),
        "min_age": r.integer("eligibility.min_age"),
        "max_age": r.integer("eligibility.max_age"),
        "org_ids": _picked(r, "eligibility.org_ids"),
        "regions": _split(r.text("eligibility.regions")),
    }
    rules["scope"] = {
        "merchant_ids": _picked(r, "scope.merchant_ids"),
        "merchant_categories": r.many("scope.merchant_categories"),
        "regions": _split(r.text("scope.regions")),
        "store_ids": _picked(r, "scope.store_ids"),
    }
    kind = r.text("benefit.kind")
    benefit: dict[str, Any] = {"kind": kind}
    for f in KIND_FIELDS.get(kind, ()):
        name = f"benefit.{f}"
        if f == "funded_by":
            value: Any = r.text(name) or None
        elif f == "basis_points":
            value = r.decimal(name, 100)  # typed as percent
        else:
            value = r.decimal(name, 100)  # typed as yuan
        if value is not None:
            benefit[f] = value
    rules["benefit"] = benefit
    limits = []
    for i in range(limit_rows(values)):
        row = {f: r.text(f"limits[{i}].{f}") for f in LIMIT_FIELDS}
        if not row["limit"] and not row["key"]:
            continue  # a blank row
        item: dict[str, Any] = {
            "metric": row["metric"],
            "scope": row["scope"],
            "period": row["period"],
            # A budget or amount cap is typed in yuan like every other sum of money.
            "limit": r.decimal(f"limits[{i}].limit", 100)
            if row["metric"] == "amount"
            else r.integer(f"limits[{i}].limit"),
            "on_exceed": row["on_exceed"] or "reject",
        }
        if row["key"]:
            item["key"] = row["key"]
        limits.append(item)
    rules["limits"] = limits
    return rules, r.errors


def _yuan(fen: int | None) -> str:
    """Fen as yuan with two decimals, as typed back in: 20000000 → ``200000.00``."""
    return "" if fen is None else f"{Decimal(fen) / 100:.2f}"


def _percent(basis_points: int | None) -> str:
    if basis_points is None:
        return ""
    return f"{Decimal(basis_points) / 100:f}".rstrip("0").rstrip(".")


def _local(iso: str | None, zone: str) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def values_from_rules(rules: dict[str, Any]) -> Values:
    """The form texts showing stored rules (the engine's canonical JSON)."""
    zone = rules.get("timezone") or "Asia/Shanghai"
    elig = rules.get("eligibility") or {}
    scope = rules.get("scope") or {}
    stacking = rules.get("stacking") or {}
    v: Values = {
        "name": rules.get("name", ""),
        "description": rules.get("description", ""),
        "valid_from": _local(rules.get("valid_from"), zone),
        "valid_until": _local(rules.get("valid_until"), zone),
        "timezone": zone,
        "priority": str(rules.get("priority", 0)),
        "accept_static_tokens": "1" if rules.get("accept_static_tokens", True) else "",
        "stacking.mode": stacking.get("mode", "exclusive"),
        "stacking.group": stacking.get("group", "") or "",
        "eligibility.categories_any": list(elig.get("categories_any") or []),
        "eligibility.categories_none": list(elig.get("categories_none") or []),
        "eligibility.hardship_levels": ", ".join(map(str, elig.get("hardship_levels") or [])),
        "eligibility.org_ids": list(elig.get("org_ids") or []),
        "eligibility.regions": ", ".join(elig.get("regions") or []),
        "scope.merchant_ids": list(scope.get("merchant_ids") or []),
        "scope.merchant_categories": list(scope.get("merchant_categories") or []),
        "scope.regions": ", ".join(scope.get("regions") or []),
        "scope.store_ids": list(scope.get("store_ids") or []),
    }
    for f in ("min_tenure_days", "min_age", "max_age"):
        v[f"eligibility.{f}"] = "" if elig.get(f) is None else str(elig[f])
    benefit = rules.get("benefit") or {}
    v["benefit.kind"] = benefit.get("kind", "percent_off")
    v["benefit.basis_points"] = _percent(benefit.get("basis_points"))
    for f in YUAN_FIELDS:
        v[f"benefit.{f}"] = _yuan(benefit.get(f))
    v["benefit.funded_by"] = benefit.get("funded_by", "merchant") or "merchant"
    for i, lim in enumerate(rules.get("limits") or []):
        for f in LIMIT_FIELDS:
            v[f"limits[{i}].{f}"] = "" if lim.get(f) is None else str(lim[f])
        if lim.get("metric") == "amount":
            v[f"limits[{i}].limit"] = _yuan(lim.get("limit"))
    return v


def blank_values() -> Values:
    return values_from_rules({"benefit": {"kind": "percent_off"}}) | {
        "code": "",
        "owner_org_id": "",
    }
