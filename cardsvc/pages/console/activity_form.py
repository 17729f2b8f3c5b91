"""The console's publish form for an activity: form text → ``ActivityInput``.

Times are typed as local times of the federation's zone (``datetime-local`` inputs) and
money in yuan; both become what the API takes (UTC instants, integer fen). Who may join is the
benefits engine's eligibility rule, of which the form offers the member categories and ages.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from benefits.public import BenefitsError
from cardsvc.activities.models import ActivityKind
from cardsvc.activities.service import ActivityInput
from cardsvc.kernel.errors import FieldError, ValidationError
from cardsvc.pages.shop.forms import yuan_to_fen

Values = dict[str, Any]
TIMES = ("starts_at", "ends_at", "signup_opens_at", "signup_closes_at", "cancel_deadline")
TEXTS: tuple[str, ...] = ("org_id", "kind", "title", "description", "place", "capacity")
TEXTS += ("hours", "cost", "subsidy", "min_age", "max_age", *TIMES)
KINDS = {"activity": ("工会活动", "Activity"), "training": ("培训课程", "Training course")}
CATEGORIES = {
    "model_worker": ("劳模", "Model worker"),
    "hardship": ("困难职工", "Hardship"),
    "migrant_worker": ("农民工", "Migrant worker"),
    "flexible_worker": ("灵活就业", "Flexible worker"),
    "retired": ("退休", "Retired"),
}


def form_values(form: Any) -> Values:
    values: Values = {k: str(form.get(k, "")).strip() for k in TEXTS}
    values["categories_any"] = [str(v) for v in form.getall("categories_any", [])]
    return values


class _Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, field: str, zh: str, en: str) -> None:
        self.items.append(FieldError(field, zh, en))


def _time(e: _Errors, values: Values, name: str, zone: ZoneInfo) -> datetime | None:
    text = values[name]
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        e.add(name, "请选择日期和时间", "choose a date and time")
        return None
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone)
    return local


def _whole(e: _Errors, values: Values, name: str, lo: int, hi: int) -> int | None:
    text = values[name]
    if not text:
        return None
    if not text.isdigit() or not lo <= int(text) <= hi:
        e.add(name, f"请填写 {lo}–{hi} 的整数", f"a whole number from {lo} to {hi}")
        return None
    return int(text)


def _fen(e: _Errors, values: Values, name: str) -> int:
    try:
        return yuan_to_fen(values[name], required=False) or 0
    except ValidationError as exc:
        e.add(name, exc.message_zh, exc.message_en)
        return 0


def parse_form(values: Values, time_zone: str) -> ActivityInput:
    """The activity the form describes; ``ValidationError`` naming the form's fields."""
    e = _Errors()
    zone = ZoneInfo(time_zone)
    times = {name: _time(e, values, name, zone) for name in TIMES}
    capacity = _whole(e, values, "capacity", 1, 100_000)
    if capacity is None and not any(i.field == "capacity" for i in e.items):
        e.add("capacity", "请填写名额", "give the number of places")
    kind = values["kind"] if values["kind"] in KINDS else None
    if kind is None:
        e.add("kind", "请选择类型", "choose the kind")
    try:
        org_id = uuid.UUID(values["org_id"])
    except ValueError:
        org_id = None
        e.add("org_id", "请选择主办工会", "choose the organising union")
    hours = values["hours"]
    minutes = None
    if hours:
        try:
            minutes = round(float(hours) * 60)
        except ValueError:
            e.add("hours", "请填写学时，例如 4 或 1.5", "hours, like 4 or 1.5")
    eligibility: dict[str, Any] = {}
    if values["categories_any"]:
        eligibility["categories_any"] = values["categories_any"]
    for name in ("min_age", "max_age"):
        age = _whole(e, values, name, 0, 150)
        if age is not None:
            eligibility[name] = age
    cost, subsidy = _fen(e, values, "cost"), _fen(e, values, "subsidy")
    if e.items:
        raise ValidationError(errors=e.items)
    assert org_id is not None and kind is not None and capacity is not None
    return ActivityInput(
        org_id=org_id,
        kind=ActivityKind(kind),
        title=values["title"],
        description=values["description"],
        place=values["place"],
        capacity=capacity,
        cost_fen=cost,
        subsidy_fen=subsidy,
        training_minutes=minutes if kind == "training" else None,
        eligibility=eligibility,
        **times,  # type: ignore[arg-type]
    )


# The API's field names for the form's own, where they differ.
FORM_FIELD = {"cost_fen": "cost", "subsidy_fen": "subsidy", "training_minutes": "hours"}


def form_errors(exc: ValidationError | BenefitsError, lang: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for err in exc.errors:
        name = FORM_FIELD.get(err.field, err.field.removeprefix("eligibility."))
        out.setdefault(name, err.reason_en if lang == "en" else err.reason_zh)
    return out
