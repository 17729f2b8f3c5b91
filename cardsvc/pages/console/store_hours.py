"""The console's opening-hours fields ↔ the stored hours: one input per weekday (spans separated
by commas, ``18:00-02:00`` running past midnight), an "every day" shortcut, and closures one per
line (``2027-01-01~2027-01-03 元旦``). Every bad field is reported at once, each on its input;
the spans and dates are checked by the directory's own parser."""

from __future__ import annotations

import re
from typing import Any

from cardsvc.kernel.errors import FieldError, ValidationError
from merchants.directory.hours import DAY_LABELS_ZH, DAYS, parse_hours

_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DAY_FIELDS = {f"hours_{d}": (DAY_LABELS_ZH[d], en) for d, en in zip(DAYS, _EN, strict=True)}
_CLOSURE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\s*(?:~|～|至)\s*(\d{4}-\d{2}-\d{2}))?(?:\s+(.+))?$")


def _spans(raw: str) -> list[str]:
    return [s.strip() for s in raw.replace("，", ",").split(",") if s.strip()]


def hours_values(hours: dict[str, Any] | None) -> dict[str, str]:
    """The form's hours inputs for stored hours."""
    weekly = (hours or {}).get("weekly", {})
    out = {f"hours_{d}": ",".join(weekly.get(d, ())) for d in DAYS}
    lines = []
    for c in (hours or {}).get("closures", ()):
        span = c["first"] if c["last"] == c["first"] else f"{c['first']}~{c['last']}"
        lines.append(f"{span} {c['note']}" if c.get("note") else span)
    out["hours"], out["closures"] = "", "\n".join(lines)
    return out


def _first_error(field: str, raw: dict[str, Any], errors: list[FieldError]) -> None:
    try:
        parse_hours(raw)
    except ValidationError as exc:
        errors += [FieldError(field, e.reason_zh, e.reason_en) for e in exc.errors[:1]]


def _closure(n: int, line: str, errors: list[FieldError]) -> dict[str, str] | None:
    m = _CLOSURE.match(line)
    if m is None:
        errors.append(
            FieldError(
                "closures",
                f"第 {n} 行：停业日期应写作“2027-01-01”或“2027-01-01~2027-01-03 元旦”",
                f'line {n}: write "2027-01-01" or "2027-01-01~2027-01-03 note"',
            )
        )
        return None
    c = {"first": m[1], "last": m[2] or m[1], **({"note": m[3].strip()} if m[3] else {})}
    before = len(errors)
    _first_error("closures", {"closures": [c]}, errors)
    for i in range(before, len(errors)):
        e = errors[i]
        errors[i] = FieldError(e.field, f"第 {n} 行：{e.reason_zh}", f"line {n}: {e.reason_en}")
    return c


def hours_from_form(values: dict[str, str]) -> dict[str, Any]:
    """The hours to store from the form's inputs; ``ValidationError`` naming every bad input.
    A filled "every day" input stands for all seven days."""
    errors: list[FieldError] = []
    weekly: dict[str, list[str]] = {}
    every = _spans(values.get("hours", ""))
    if every:
        _first_error("hours", {"weekly": {"mon": every}}, errors)
    for d in DAYS:
        spans = every or _spans(values.get(f"hours_{d}", ""))
        if spans:
            weekly[d] = spans
            if not every:
                _first_error(f"hours_{d}", {"weekly": {d: spans}}, errors)
    lines = [x.strip() for x in values.get("closures", "").splitlines() if x.strip()]
    closures = [c for n, line in enumerate(lines, 1) if (c := _closure(n, line, errors))]
    if errors:
        raise ValidationError(
            message_zh="营业时间格式不正确", message_en="malformed opening hours", errors=errors
        )
    return parse_hours({"weekly": weekly, "closures": closures})
