"""The one clock of cardsvc and merchants: timezone-aware UTC, never naive.

The benefits engine keeps its own (``benefits.engine.txn.utc_now``) because it imports nothing
from the host; both read the same system clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def utc_now() -> datetime:
    return datetime.now(UTC)


# The federation's calendar: a member who joins at 07:00 in Beijing joins that day, not the
# UTC day before (which would count a day of tenure that never was).
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def local_date(at: datetime) -> date:
    """The calendar date in the federation's zone at instant ``at``."""
    return at.astimezone(LOCAL_ZONE).date()
