"""The date range of a report: local days in the federation's zone, and the same in UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from cardsvc.kernel.errors import ValidationError

MAX_DAYS = 3660  # ten years: the longest range a report accepts


@dataclass(frozen=True, slots=True)
class ReportRange:
    """Days ``start``..``end`` inclusive in ``time_zone``; ``[since, until)`` in UTC."""

    start: date
    end: date
    time_zone: str
    since: datetime
    until: datetime

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def months(self) -> list[str]:
        """Every ``YYYY-MM`` the range touches, in order."""
        out: list[str] = []
        y, m = self.start.year, self.start.month
        while (y, m) <= (self.end.year, self.end.month):
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out

    def local_month(self, at: datetime) -> str:
        return at.astimezone(self.tz).strftime("%Y-%m")


def _midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def report_range(start: date | None, end: date | None, time_zone: str) -> ReportRange:
    """Check ``[start, end]``; a missing end is today, a missing start opens the 12 calendar
    months that end with ``end``'s month."""
    tz = ZoneInfo(time_zone)
    if end is None:
        end = datetime.now(tz).date()
    if start is None:
        months = end.year * 12 + end.month - 1 - 11
        start = date(months // 12, months % 12 + 1, 1)
    if start > end:
        raise ValidationError.field("from", "开始日期晚于结束日期", "from is after to")
    if (end - start).days >= MAX_DAYS:
        raise ValidationError.field(
            "from", f"时间范围不能超过 {MAX_DAYS} 天", f"the range may span at most {MAX_DAYS} days"
        )
    return ReportRange(
        start, end, time_zone, _midnight_utc(start, tz), _midnight_utc(end + timedelta(days=1), tz)
    )
