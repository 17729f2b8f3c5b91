"""Periods are local calendar periods of the programme's zone, computed from the instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benefits.rules.periods import Period, local_date, period_bounds, period_key, zone

SHANGHAI = zone("Asia/Shanghai")
BERLIN = zone("Europe/Berlin")


def sh(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=SHANGHAI)


def test_midnight_in_shanghai_splits_days() -> None:
    before = sh(2025, 3, 9, 23, 59, 59, 999_000)
    after = sh(2025, 3, 10, 0, 0, 0)
    assert period_key(Period.day, before, SHANGHAI) == "D2025-03-09"
    assert period_key(Period.day, after, SHANGHAI) == "D2025-03-10"
    # The same instants in UTC are 15:59:59.999 and 16:00 of one UTC day.
    assert before.astimezone(UTC).date() == after.astimezone(UTC).date()


def test_weeks_start_on_monday() -> None:
    sunday_night = sh(2025, 3, 16, 23, 59, 59, 999_000)  # Sunday
    monday = sh(2025, 3, 17, 0, 0)
    assert period_key(Period.week, sunday_night, SHANGHAI) == "W2025-03-10"
    assert period_key(Period.week, monday, SHANGHAI) == "W2025-03-17"
    keys = {period_key(Period.week, sh(2025, 3, 17 + i, 12), SHANGHAI) for i in range(7)}
    assert keys == {"W2025-03-17"}  # Monday 17th … Sunday 23rd
    # A week crossing a year boundary keeps its Monday's label.
    assert period_key(Period.week, sh(2025, 1, 1, 9), SHANGHAI) == "W2024-12-30"


def test_month_year_and_lifetime() -> None:
    assert period_key(Period.month, sh(2025, 1, 31, 23, 59, 59), SHANGHAI) == "M2025-01"
    assert period_key(Period.month, sh(2025, 2, 1, 0, 0), SHANGHAI) == "M2025-02"
    assert period_key(Period.year, sh(2025, 12, 31, 23, 59, 59), SHANGHAI) == "Y2025"
    assert period_key(Period.year, sh(2026, 1, 1), SHANGHAI) == "Y2026"
    assert period_key(Period.lifetime, sh(2026, 1, 1), SHANGHAI) == "L"
    assert period_bounds(Period.lifetime, sh(2026, 1, 1), SHANGHAI) == (None, None)
    start, end = period_bounds(Period.month, sh(2024, 2, 10), SHANGHAI)
    assert (start, end) == (sh(2024, 2, 1), sh(2024, 3, 1))
    start, end = period_bounds(Period.month, sh(2024, 12, 10), SHANGHAI)
    assert end == sh(2025, 1, 1)


def test_berlin_spring_forward_day_has_23_hours() -> None:
    # 2024-03-31: clocks jump from 02:00 to 03:00.
    start, end = period_bounds(Period.day, datetime(2024, 3, 31, 12, tzinfo=UTC), BERLIN)
    assert start is not None and end is not None
    assert end - start == timedelta(hours=23)
    early = datetime(2024, 3, 30, 23, 30, tzinfo=UTC)  # 00:30 CET
    late = datetime(2024, 3, 31, 21, 59, 59, tzinfo=UTC)  # 23:59:59 CEST
    assert period_key(Period.day, early, BERLIN) == period_key(Period.day, late, BERLIN)
    assert period_key(Period.day, late + timedelta(seconds=1), BERLIN) == "D2024-04-01"


def test_berlin_fall_back_day_has_25_hours() -> None:
    # 2024-10-27: clocks go back from 03:00 to 02:00.
    start, end = period_bounds(Period.day, datetime(2024, 10, 27, 12, tzinfo=UTC), BERLIN)
    assert start is not None and end is not None
    assert end - start == timedelta(hours=25)
    a = datetime(2024, 10, 26, 22, 30, tzinfo=UTC)  # 00:30 CEST on the 27th
    b = a + timedelta(hours=24)  # 23:30 CET, still the 27th
    assert period_key(Period.day, a, BERLIN) == period_key(Period.day, b, BERLIN) == "D2024-10-27"
    # The repeated hour 02:00–03:00 is one day, whichever side of the change.
    first = datetime(2024, 10, 27, 0, 30, tzinfo=UTC)  # 02:30 CEST
    second = datetime(2024, 10, 27, 1, 30, tzinfo=UTC)  # 02:30 CET
    assert local_date(first, BERLIN) == local_date(second, BERLIN)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        period_key(Period.day, datetime(2025, 1, 1), SHANGHAI)
    with pytest.raises(ValueError):
        zone("Not/AZone")


ZONES = [
    "Asia/Shanghai",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/Santiago",
    "UTC",
]
instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)
bounded = st.sampled_from([Period.day, Period.week, Period.month, Period.year])


@given(instants, bounded, st.sampled_from(ZONES))
def test_bounds_contain_the_instant_and_share_its_key(
    at: datetime, period: Period, tz_name: str
) -> None:
    tz = zone(tz_name)
    start, end = period_bounds(period, at, tz)
    assert start is not None and end is not None
    assert start <= at < end
    key = period_key(period, at, tz)
    assert period_key(period, start, tz) == key
    assert period_key(period, end - timedelta(microseconds=1), tz) == key
    assert period_key(period, end, tz) != key
    # The next period starts where this one ends.
    assert period_bounds(period, end, tz)[0] == end


@given(instants, st.sampled_from(ZONES), st.integers(min_value=1, max_value=10**6))
def test_keys_never_go_backwards(at: datetime, tz_name: str, seconds: int) -> None:
    tz = zone(tz_name)
    later = at + timedelta(seconds=seconds)
    for period in (Period.day, Period.week, Period.month, Period.year):
        assert period_key(period, later, tz) >= period_key(period, at, tz)


@given(instants)
def test_week_key_is_a_monday(at: datetime) -> None:
    key = period_key(Period.week, at, SHANGHAI)
    assert datetime.fromisoformat(key[1:]).weekday() == 0
