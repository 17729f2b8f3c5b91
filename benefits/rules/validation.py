"""Build :class:`~benefits.rules.programme.ProgramRules` from JSON, naming every invalid field.

``parse_rules`` collects all problems at once (a staff form shows them together) and raises one
:class:`~benefits.errors.ValidationError` whose ``errors`` hold ``field`` paths such as
``benefit.basis_points`` or ``limits[1].period``. ``for_publish=True`` adds the checks a
programme must pass before members can use it (a non-empty scope).
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from benefits.errors import FieldError, ValidationError
from benefits.rules.periods import DEFAULT_ZONE, Period, within_range, zone
from benefits.rules.programme import (
    MEMBER_CATEGORIES,
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
    Stacking,
    StackingMode,
)

MAX_FEN = 10**12  # ¥10 billion: far above any real amount, well inside 64 bits
MAX_LIMITS = 20
MAX_LIST = 5000
_KEY_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_GROUP_RE = re.compile(r"^[A-Za-z0-9_\-]{1,32}$")
# GB/T 2260 digits in pairs: province ``42``, city ``4205``, county ``420525`` (or a
# division's own code, ``420500``); anything else could never match a member or store.
_REGION_RE = re.compile(r"^(?:[0-9]{2}){1,3}$")

_BENEFIT_FIELDS: dict[BenefitKind, dict[str, bool]] = {
    # field -> required
    BenefitKind.percent_off: {"basis_points": True, "cap_fen": False, "funded_by": False},
    BenefitKind.amount_off: {"off_fen": True, "min_spend_fen": False, "funded_by": False},
    BenefitKind.fixed_price: {"price_fen": True, "funded_by": False},
    BenefitKind.free_units: {"per_unit_fen": False},
    BenefitKind.subsidy: {"per_unit_fen": True},
}

E = TypeVar("E")
EnumT = TypeVar("EnumT", bound=enum.Enum)


class _Collector:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, zh: str, en: str) -> None:
        self.errors.append(FieldError(field, zh, en))

    def unknown_keys(self, data: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
        for key in data:
            if key not in allowed:
                self.add(f"{prefix}{key}", "未知字段", "unknown field")

    def mapping(self, value: Any, field: str) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.add(field, "必须为对象", "must be an object")
            return {}
        return value

    def integer(
        self, value: Any, field: str, *, lo: int, hi: int, required: bool = False
    ) -> int | None:
        if value is None:
            if required:
                self.add(field, "必填", "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(field, "必须为整数", "must be an integer")
            return None
        if value < lo:
            if lo == 1:
                self.add(field, "必须为正整数", "must be a positive integer")
            else:
                self.add(field, f"不能小于 {lo}", f"must be at least {lo}")
            return None
        if value > hi:
            self.add(field, f"不能大于 {hi}", f"must be at most {hi}")
            return None
        return value

    def text(self, value: Any, field: str, *, max_len: int, required: bool = False) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip() and required):
            if required:
                self.add(field, "必填", "is required")
            return None
        if not isinstance(value, str):
            self.add(field, "必须为字符串", "must be a string")
            return None
        value = value.strip()
        if len(value) > max_len:
            self.add(field, f"长度不能超过 {max_len}", f"must be at most {max_len} characters")
            return None
        return value

    def choice(
        self, value: Any, field: str, enum_type: type[EnumT], *, default: EnumT | None = None
    ) -> EnumT | None:
        if value is None:
            if default is None:
                self.add(field, "必填", "is required")
            return default
        try:
            return enum_type(value)
        except ValueError:
            allowed = ", ".join(e.value for e in enum_type)
            self.add(
                field, f"取值无效，可选：{allowed}", f"unknown value, expected one of: {allowed}"
            )
            return default

    def items(self, value: Any, field: str, parse: Callable[[Any, str], E | None]) -> tuple[E, ...]:
        if value is None:
            return ()
        if not isinstance(value, list | tuple):
            self.add(field, "必须为数组", "must be a list")
            return ()
        if len(value) > MAX_LIST:
            self.add(field, f"最多 {MAX_LIST} 项", f"must have at most {MAX_LIST} items")
            return ()
        out: list[E] = []
        for i, item in enumerate(value):
            parsed = parse(item, f"{field}[{i}]")
            if parsed is not None and parsed not in out:
                out.append(parsed)
        return tuple(out)

    def uuid_item(self, value: Any, field: str) -> uuid.UUID | None:
        if isinstance(value, uuid.UUID):
            return value
        try:
            return uuid.UUID(str(value))
        except ValueError:
            self.add(field, "不是有效的 UUID", "is not a valid UUID")
            return None

    def instant(self, value: Any, field: str) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                self.add(field, "不是有效的 ISO 8601 时间", "is not an ISO 8601 time")
                return None
        if not isinstance(value, datetime):
            self.add(field, "必须为时间", "must be a time")
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            self.add(field, "必须带时区偏移", "must include a UTC offset")
            return None
        if not within_range(value):
            self.add(
                field, "须在 1970 年至 2999 年之间", "must lie between the years 1970 and 2999"
            )
            return None
        return value.astimezone(UTC)


_TOP_KEYS = {
    "name",
    "description",
    "valid_from",
    "valid_until",
    "timezone",
    "priority",
    "stacking",
    "eligibility",
    "scope",
    "benefit",
    "limits",
    "accept_static_tokens",
}


def parse_rules(data: Any, *, for_publish: bool = False) -> ProgramRules:
    """Validate ``data`` (the rule JSON) and return the rules; raise ``ValidationError``."""
    c = _Collector()
    if not isinstance(data, Mapping):
        raise ValidationError.field("rules", "必须为对象", "must be an object")
    c.unknown_keys(data, _TOP_KEYS, "")

    name = c.text(data.get("name"), "name", max_len=128, required=True)
    description = c.text(data.get("description"), "description", max_len=2000) or ""
    valid_from = c.instant(data.get("valid_from"), "valid_from")
    valid_until = c.instant(data.get("valid_until"), "valid_until")
    if valid_from and valid_until and valid_until <= valid_from:
        c.add("valid_until", "结束时间必须晚于开始时间", "must be after valid_from")
    tz_name = data.get("timezone", DEFAULT_ZONE)
    if tz_name is None:
        tz_name = DEFAULT_ZONE
    if not isinstance(tz_name, str):
        c.add("timezone", "必须为 IANA 时区名", "must be an IANA time zone name")
        tz_name = DEFAULT_ZONE
    else:
        try:
            zone(tz_name)
        except ValueError:
            c.add("timezone", "不是有效的 IANA 时区", "is not a known IANA time zone")
    priority = c.integer(data.get("priority", 0), "priority", lo=-1000, hi=1000) or 0

    stacking = _stacking(c, data.get("stacking"))
    eligibility = _eligibility(c, c.mapping(data.get("eligibility"), "eligibility"))
    scope = _scope(c, c.mapping(data.get("scope"), "scope"))
    if for_publish and scope.is_empty:
        c.add(
            "scope",
            "发布前必须指定至少一个商户、商户类别、地区或门店",
            "must name at least one merchant, merchant category, region or store to publish",
        )
    benefit = _benefit(c, data.get("benefit"))
    limits = _limits(c, data.get("limits"))
    accept_static = data.get("accept_static_tokens", True)
    if accept_static is None:
        accept_static = True
    elif not isinstance(accept_static, bool):
        c.add("accept_static_tokens", "必须为 true 或 false", "must be true or false")
        accept_static = True

    if c.errors:
        raise ValidationError.from_fields(c.errors)
    assert name is not None and benefit is not None
    return ProgramRules(
        name=name,
        description=description,
        valid_from=valid_from,
        valid_until=valid_until,
        timezone=tz_name,
        priority=priority,
        stacking=stacking,
        eligibility=eligibility,
        scope=scope,
        benefit=benefit,
        limits=limits,
        accept_static_tokens=accept_static,
    )


def parse_eligibility(data: Any) -> Eligibility:
    """Validate an eligibility rule alone (the ``eligibility`` object of the rule JSON), for
    hosts that let other things than programmes say who may take part; ``ValidationError``
    with the same field paths (``eligibility.min_age`` …) as :func:`parse_rules`."""
    c = _Collector()
    eligibility = _eligibility(c, c.mapping(data, "eligibility"))
    if c.errors:
        raise ValidationError.from_fields(c.errors)
    return eligibility


def _stacking(c: _Collector, raw: Any) -> Stacking:
    data = c.mapping(raw, "stacking")
    c.unknown_keys(data, {"mode", "group"}, "stacking.")
    mode = c.choice(data.get("mode"), "stacking.mode", StackingMode, default=StackingMode.exclusive)
    group = c.text(data.get("group"), "stacking.group", max_len=32)
    if mode is StackingMode.group:
        if not group:
            c.add("stacking.group", "可叠加项目必须指定叠加组", "is required when mode is group")
        elif not _GROUP_RE.match(group):
            c.add(
                "stacking.group",
                "只能包含字母、数字、下划线和连字符",
                "use letters, digits, _ or -",
            )
        return Stacking(mode, group)
    if group:
        c.add("stacking.group", "独占项目不能指定叠加组", "must be empty when mode is exclusive")
    return Stacking(StackingMode.exclusive, None)


def _eligibility(c: _Collector, data: Mapping[str, Any]) -> Eligibility:
    p = "eligibility."
    c.unknown_keys(
        data,
        {
            "categories_any",
            "categories_none",
            "hardship_levels",
            "min_tenure_days",
            "min_age",
            "max_age",
            "org_ids",
            "regions",
        },
        p,
    )

    def category(value: Any, field: str) -> str | None:
        if value not in MEMBER_CATEGORIES:
            allowed = ", ".join(sorted(MEMBER_CATEGORIES))
            c.add(field, f"未知会员类别，可选：{allowed}", f"unknown member category ({allowed})")
            return None
        return str(value)

    def level(value: Any, field: str) -> int | None:
        return c.integer(value, field, lo=1, hi=9)

    any_of = c.items(data.get("categories_any"), p + "categories_any", category)
    none_of = c.items(data.get("categories_none"), p + "categories_none", category)
    if set(any_of) & set(none_of):
        c.add(p + "categories_none", "不能与 categories_any 重叠", "overlaps categories_any")
    min_age = c.integer(data.get("min_age"), p + "min_age", lo=0, hi=150)
    max_age = c.integer(data.get("max_age"), p + "max_age", lo=0, hi=150)
    if min_age is not None and max_age is not None and max_age < min_age:
        c.add(p + "max_age", "不能小于 min_age", "must not be below min_age")
    return Eligibility(
        categories_any=any_of,
        categories_none=none_of,
        hardship_levels=c.items(data.get("hardship_levels"), p + "hardship_levels", level),
        min_tenure_days=c.integer(
            data.get("min_tenure_days"), p + "min_tenure_days", lo=0, hi=36500
        ),
        min_age=min_age,
        max_age=max_age,
        org_ids=c.items(data.get("org_ids"), p + "org_ids", c.uuid_item),
        regions=c.items(data.get("regions"), p + "regions", lambda v, f: _region(c, v, f)),
    )


def _region(c: _Collector, value: Any, field: str) -> str | None:
    if not isinstance(value, str) or not _REGION_RE.fullmatch(value):
        c.add(
            field,
            "应为行政区划代码（如 42、4205、420525）",
            "must be a GB/T 2260 region code (e.g. 42, 4205, 420525)",
        )
        return None
    return value


def _scope(c: _Collector, data: Mapping[str, Any]) -> Scope:
    p = "scope."
    c.unknown_keys(data, {"merchant_ids", "merchant_categories", "regions", "store_ids"}, p)

    def category(value: Any, field: str) -> MerchantCategory | None:
        return c.choice(value, field, MerchantCategory) if value is not None else None

    return Scope(
        merchant_ids=c.items(data.get("merchant_ids"), p + "merchant_ids", c.uuid_item),
        merchant_categories=c.items(
            data.get("merchant_categories"), p + "merchant_categories", category
        ),
        regions=c.items(data.get("regions"), p + "regions", lambda v, f: _region(c, v, f)),
        store_ids=c.items(data.get("store_ids"), p + "store_ids", c.uuid_item),
    )


def _benefit(c: _Collector, raw: Any) -> Benefit | None:
    if raw is None:
        c.add("benefit", "必填", "is required")
        return None
    data = c.mapping(raw, "benefit")
    if not data:
        return None
    kind = c.choice(data.get("kind"), "benefit.kind", BenefitKind)
    if kind is None:
        return None
    fields = _BENEFIT_FIELDS[kind]
    c.unknown_keys(data, {"kind", *fields}, "benefit.")
    for name, required in fields.items():
        if required and data.get(name) is None:
            c.add(f"benefit.{name}", "必填", "is required")
    bp = data.get("basis_points")
    if bp is not None and not isinstance(bp, bool) and isinstance(bp, int) and bp > 10_000:
        c.add(
            "benefit.basis_points",
            "折扣比例不能超过 100%（10000 个基点）",
            "must not exceed 10000 basis points (100 %)",
        )
        bp = None
    else:
        bp = c.integer(bp, "benefit.basis_points", lo=1, hi=10_000)
    funded_by = c.choice(
        data.get("funded_by"), "benefit.funded_by", Funding, default=Funding.merchant
    )
    per_unit_lo = 1 if kind is BenefitKind.subsidy else 0
    return Benefit(
        kind=kind,
        basis_points=bp,
        cap_fen=c.integer(data.get("cap_fen"), "benefit.cap_fen", lo=1, hi=MAX_FEN),
        off_fen=c.integer(data.get("off_fen"), "benefit.off_fen", lo=1, hi=MAX_FEN),
        min_spend_fen=c.integer(
            data.get("min_spend_fen"), "benefit.min_spend_fen", lo=0, hi=MAX_FEN
        ),
        price_fen=c.integer(data.get("price_fen"), "benefit.price_fen", lo=0, hi=MAX_FEN),
        per_unit_fen=c.integer(
            data.get("per_unit_fen"), "benefit.per_unit_fen", lo=per_unit_lo, hi=MAX_FEN
        ),
        funded_by=funded_by or Funding.merchant,
    )


def _limits(c: _Collector, raw: Any) -> tuple[LimitPolicy, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple):
        c.add("limits", "必须为数组", "must be a list")
        return ()
    if len(raw) > MAX_LIMITS:
        c.add("limits", f"最多 {MAX_LIMITS} 条限额规则", f"must have at most {MAX_LIMITS} policies")
        return ()
    out: list[LimitPolicy] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        p = f"limits[{i}]."
        data = c.mapping(item, f"limits[{i}]")
        c.unknown_keys(data, {"key", "metric", "scope", "period", "limit", "on_exceed"}, p)
        metric = c.choice(data.get("metric"), p + "metric", Metric)
        scope = c.choice(data.get("scope"), p + "scope", LimitScope)
        period = c.choice(data.get("period"), p + "period", Period)
        limit = c.integer(data.get("limit"), p + "limit", lo=1, hi=MAX_FEN, required=True)
        on_exceed = c.choice(
            data.get("on_exceed"), p + "on_exceed", OnExceed, default=OnExceed.reject
        )
        if metric is Metric.count and on_exceed is OnExceed.clamp:
            c.add(
                p + "on_exceed", "次数限额不能按剩余量截取", "clamp applies to units or amount only"
            )
        key = data.get("key")
        if key is None and metric and scope and period:
            key = f"{scope.value}_{period.value}_{metric.value}"
        if key is not None:
            if not isinstance(key, str) or not _KEY_RE.match(key):
                c.add(
                    p + "key",
                    "只能包含小写字母、数字和下划线（最长 32）",
                    "use a-z, 0-9 or _ (max 32)",
                )
                key = None
            elif key in seen:
                c.add(p + "key", "与另一条限额规则重复", "duplicates another policy's key")
                key = None
        if None in (metric, scope, period, limit, on_exceed, key):
            continue
        assert metric and scope and period and limit and on_exceed and key
        seen.add(key)
        out.append(LimitPolicy(key, metric, scope, period, limit, on_exceed))
    return tuple(out)


# The parts a voucher campaign's terms share with a programme's rules (benefits.vouchers.terms).
Collector = _Collector
collect_eligibility = _eligibility
collect_scope = _scope
