"""The one clock of cardsvc and merchants: timezone-aware UTC, never naive.

The benefits engine keeps its own (``benefits.engine.txn.utc_now``) because it imports nothing
from the host; both read the same system clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from cardsvc.kernel.errors import ValidationError


def utc_now() -> datetime:
    return datetime.now(UTC)


def query_instant(value: datetime | None, field: str) -> datetime | None:
    """A time given in the query string, in UTC. It must carry its UTC offset (a bare local
    time names a different instant in every zone) and lie where UTC can represent it."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError.field(
            field,
            "须带时区偏移，例如 2026-03-01T00:00:00+08:00",
            "must include a UTC offset, e.g. 2026-03-01T00:00:00+08:00",
            status=400,
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValidationError.field(
            field, "超出可表示的时间范围", "is outside the representable range", status=400
        ) from None


# The federation's calendar: a member who joins at 07:00 in Beijing joins that day, not the
# UTC day before (which would count a day of tenure that never was).
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def local_date(at: datetime) -> date:
    """The calendar date in the federation's zone at instant ``at``."""
    return at.astimezone(LOCAL_ZONE).date()
