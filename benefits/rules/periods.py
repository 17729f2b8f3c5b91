"""Limit periods, computed from the redemption time in the programme's time zone.

A counter row is keyed by the period it belongs to, so a new period simply starts a new row:
there is no reset job. Keys are the local calendar label of the period:

=========  ================  ==========================================
period     key               meaning
=========  ================  ==========================================
day        ``D2025-03-31``   the local calendar day
week       ``W2025-03-31``   the week, labelled by its Monday (weeks start Monday)
month      ``M2025-03``      the local calendar month
year       ``Y2025``         the local calendar year
lifetime   ``L``             one period for the programme's whole life
=========  ================  ==========================================

Days are local calendar days: in a zone with daylight saving a day may last 23 or 25 hours.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Shanghai"


class Period(enum.StrEnum):
    day = "day"
    week = "week"
    month = "month"
    year = "year"
    lifetime = "lifetime"


PERIOD_LABELS_ZH = {
    Period.day: "每天",
    Period.week: "每周",
    Period.month: "每月",
    Period.year: "每年",
    Period.lifetime: "累计",
}


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The IANA zone called ``name``; raises ``ValueError`` for anything else."""
    if not name or name != name.strip() or name.startswith(("/", ".")) or ".." in name:
        raise ValueError(f"invalid time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("times must be timezone-aware")


def local_date(at: datetime, tz: ZoneInfo) -> date:
    """The calendar date at instant ``at`` in zone ``tz``."""
    _require_aware(at)
    return at.astimezone(tz).date()


def period_start_date(period: Period, day: date) -> date | None:
    """First local day of the period containing ``day`` (``None`` for lifetime)."""
    if period is Period.day:
        return day
    if period is Period.week:
        return day - timedelta(days=day.weekday())  # Monday
    if period is Period.month:
        return day.replace(day=1)
    if period is Period.year:
        return day.replace(month=1, day=1)
    return None


def _next_start_date(period: Period, start: date) -> date:
    if period is Period.day:
        return start + timedelta(days=1)
    if period is Period.week:
        return start + timedelta(days=7)
    if period is Period.month:
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return date(start.year + 1, 1, 1)


def key_for_date(period: Period, day: date) -> str:
    """The counter key of the period containing local date ``day``."""
    start = period_start_date(period, day)
    if start is None:
        return "L"
    if period is Period.day:
        return f"D{start.isoformat()}"
    if period is Period.week:
        return f"W{start.isoformat()}"
    if period is Period.month:
        return f"M{start.year:04d}-{start.month:02d}"
    return f"Y{start.year:04d}"


def period_key(period: Period, at: datetime, tz: ZoneInfo) -> str:
    """The counter key of the period that instant ``at`` falls in, in zone ``tz``."""
    if period is Period.lifetime:
        return "L"
    return key_for_date(period, local_date(at, tz))


def _midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    # fold=0: where midnight is skipped by a DST jump this lands on the jump itself, which is
    # the first instant of that local day.
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


@lru_cache(maxsize=8192)
def end_of_key(period: Period, key: str, tz: ZoneInfo) -> datetime | None:
    """End (exclusive, UTC) of the period labelled ``key``; cached, as every redemption asks."""
    if period is Period.lifetime:
        return None
    if period is Period.year:
        start = date(int(key[1:]), 1, 1)
    elif period is Period.month:
        start = date.fromisoformat(key[1:] + "-01")
    else:
        start = date.fromisoformat(key[1:])
    return _midnight_utc(_next_start_date(period, start), tz)


def period_bounds(
    period: Period, at: datetime, tz: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """``[start, end)`` in UTC of the period containing ``at``; ``(None, None)`` for lifetime."""
    if period is Period.lifetime:
        return None, None
    start = period_start_date(period, local_date(at, tz))
    assert start is not None
    return _midnight_utc(start, tz), _midnight_utc(_next_start_date(period, start), tz)


# The times the engine computes with: wide enough for any real programme, and clear of the
# calendar's ends (a period's end, a year past 9999-12-31, cannot be represented).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def within_range(at: datetime) -> bool:
    """Whether an aware time lies in [``EARLIEST``, ``LATEST``)."""
    try:
        return EARLIEST <= at.astimezone(UTC) < LATEST
    except OverflowError:
        return False
