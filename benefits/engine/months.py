"""Calendar months (``YYYY-MM``) in a time zone, as UTC instants."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from benefits.errors import ValidationError

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def check_month(month: str) -> tuple[int, int]:
    m = _MONTH.match(month or "")
    if m is None or not 2000 <= int(m.group(1)) <= 2999:
        raise ValidationError.field("month", "月份格式应为 YYYY-MM", "must be YYYY-MM")
    return int(m.group(1)), int(m.group(2))


def month_bounds(month: str, time_zone: str) -> tuple[datetime, datetime]:
    """``[start, end)`` of ``month`` in ``time_zone``, as UTC instants."""
    year, mon = check_month(month)
    tz = ZoneInfo(time_zone)
    start = datetime(year, mon, 1, tzinfo=tz)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def month_of(at: datetime, time_zone: str) -> str:
    return at.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m")


def next_month(month: str) -> str:
    year, mon = check_month(month)
    return f"{year + (mon == 12):04d}-{mon % 12 + 1:02d}"
