"""Opening hours: a weekly pattern of spans plus dated closures, read in the federation's zone.

Stored as JSON::

    {"weekly": {"mon": ["09:00-21:00"], "fri": ["09:00-12:00", "18:00-02:00"], ...},
     "closures": [{"first": "2027-01-01", "last": "2027-01-03", "note": "元旦"}]}

A span whose end is not after its start runs past midnight (``18:00-02:00`` closes at 2 am the
next day); ``00:00-24:00`` is the whole day. A closure cancels the spans that *start* on its
days, so a Friday-night span still runs into a closed Saturday morning. No weekly pattern at all
means the hours are unknown: such a store is never reported open now.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cardsvc.kernel.errors import FieldError, ValidationError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_LABELS_ZH = dict(
    zip(DAYS, ("周一", "周二", "周三", "周四", "周五", "周六", "周日"), strict=True)
)
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
MAX_SPANS = 4
MAX_CLOSURES = 60


def _bad(field: str, zh: str, en: str) -> ValidationError:
    return ValidationError(
        message_zh="营业时间格式不正确",
        message_en="malformed opening hours",
        errors=[FieldError(field, zh, en)],
    )


def _span(field: str, raw: Any) -> str:
    m = _SPAN.match(raw.strip()) if isinstance(raw, str) else None
    if m is None or (m[3] == "24" and m[4] != "00") or raw.strip()[:5] == raw.strip()[6:]:
        raise _bad(field, "时段应写作“09:00-21:00”", 'a span is written "09:00-21:00"')
    return str(raw.strip())


def _day(field: str, raw: Any) -> date:
    try:
        if isinstance(raw, str) and len(raw) == 10:
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise _bad(field, "日期应写作“2027-01-01”", 'a date is written "2027-01-01"')


def parse_hours(raw: Any) -> dict[str, Any]:
    """The hours in their stored shape, checked; ``invalid_hours`` naming the bad field."""
    if not isinstance(raw, dict) or set(raw) - {"weekly", "closures"}:
        raise _bad("hours", "应包含 weekly 与 closures", "expected weekly and closures")
    weekly = raw.get("weekly") or {}
    if not isinstance(weekly, dict) or set(weekly) - set(DAYS):
        raise _bad("hours.weekly", "星期应为 mon…sun", "days are mon…sun")
    out_weekly: dict[str, list[str]] = {}
    for day in DAYS:
        spans = weekly.get(day) or []
        if not isinstance(spans, list) or len(spans) > MAX_SPANS:
            raise _bad(f"hours.weekly.{day}", "每天最多 4 个时段", "at most 4 spans a day")
        if spans:
            out_weekly[day] = [_span(f"hours.weekly.{day}[{i}]", s) for i, s in enumerate(spans)]
    closures = raw.get("closures") or []
    if not isinstance(closures, list) or len(closures) > MAX_CLOSURES:
        raise _bad("hours.closures", "停业日期最多 60 段", "at most 60 closures")
    out_closures = []
    for i, c in enumerate(closures):
        field = f"hours.closures[{i}]"
        if not isinstance(c, dict):
            raise _bad(field, "停业日期格式不正确", "malformed closure")
        first = _day(field + ".first", c.get("first"))
        last = _day(field + ".last", c.get("last", c.get("first")))
        if last < first or (last - first).days > 366:
            raise _bad(field, "结束日期应在开始日期之后，且不超过一年", "last must follow first")
        note = c.get("note")
        if note is not None and (not isinstance(note, str) or len(note) > 64):
            raise _bad(field + ".note", "备注最多 64 个字", "note: at most 64 characters")
        out_closures.append(
            {
                "first": first.isoformat(),
                "last": last.isoformat(),
                **({"note": note} if note else {}),
            }
        )
    return {"weekly": out_weekly, "closures": out_closures}


def _bounds(day: date, span: str) -> tuple[datetime, datetime]:
    """The span's start and end as naive local wall-clock times."""
    opens = datetime.combine(day, time(int(span[0:2]), int(span[3:5])))
    end_h, end_m = int(span[6:8]), int(span[9:11])
    closes = datetime.combine(day, time(0, 0)) + timedelta(hours=end_h, minutes=end_m)
    if closes <= opens:
        closes += timedelta(days=1)
    return opens, closes


def _closed_on(hours: dict[str, Any], day: date) -> bool:
    iso = day.isoformat()
    return any(c["first"] <= iso <= c["last"] for c in hours.get("closures", ()))


def is_open(hours: dict[str, Any] | None, at: datetime, zone: ZoneInfo) -> bool:
    """Whether a span covers ``at`` (tz-aware) in ``zone``: today's spans, and yesterday's
    running past midnight."""
    if not hours or not hours.get("weekly"):
        return False
    local = at.astimezone(zone).replace(tzinfo=None)
    for day in (local.date(), local.date() - timedelta(days=1)):
        if _closed_on(hours, day):
            continue
        for span in hours["weekly"].get(DAYS[day.weekday()], ()):
            opens, closes = _bounds(day, span)
            if opens <= local < closes:
                return True
    return False


def closure_today(hours: dict[str, Any] | None, at: datetime, zone: ZoneInfo) -> str | None:
    """The note (or an empty string) of a closure covering today in ``zone``; None if none."""
    if not hours:
        return None
    iso = at.astimezone(zone).date().isoformat()
    for c in hours.get("closures", ()):
        if c["first"] <= iso <= c["last"]:
            return str(c.get("note", ""))
    return None
