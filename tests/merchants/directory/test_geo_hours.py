"""The geo maths and opening hours as plain functions: haversine against known distances,
GCJ-02 there and back within a metre, the search box holding the circle, open-now across
midnight and closures in the federation's zone (property tests where a rule is general)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardsvc.kernel.errors import ValidationError
from merchants.directory.geo import (
    bounding_box,
    gcj02_to_wgs84,
    haversine_m,
    in_china,
    wgs84_to_gcj02,
)
from merchants.directory.hours import is_open, parse_hours

SH = ZoneInfo("Asia/Shanghai")
lat = st.floats(min_value=-89.9, max_value=89.9, allow_nan=False)
lng = st.floats(min_value=-179.9, max_value=179.9, allow_nan=False)
china_lat = st.floats(min_value=18.0, max_value=53.5, allow_nan=False)
china_lng = st.floats(min_value=73.5, max_value=135.0, allow_nan=False)


def test_haversine_known_distances() -> None:
    # Beijing Tiananmen → Shanghai People's Square: about 1,067 km.
    assert haversine_m(39.9087, 116.3975, 31.2304, 121.4737) == pytest.approx(1_067_000, rel=0.005)
    assert haversine_m(0, 0, 0, 1) == pytest.approx(111_195, rel=1e-4)
    assert haversine_m(30, 111, 30, 111) == 0


@settings(max_examples=300, deadline=None)
@given(china_lat, china_lng)
def test_gcj02_round_trip_within_a_metre(la: float, ln: float) -> None:
    g = wgs84_to_gcj02(la, ln)
    if in_china(la, ln):
        assert 1 < haversine_m(la, ln, *g) < 1_500  # shifted, by at most a few hundred metres
    back = gcj02_to_wgs84(*g)
    assert haversine_m(la, ln, *back) < 1.0


def test_gcj02_outside_china_is_wgs84() -> None:
    assert wgs84_to_gcj02(48.8566, 2.3522) == (48.8566, 2.3522)


@settings(max_examples=300, deadline=None)
@given(lat, lng, lat, lng, st.floats(min_value=10, max_value=3_000_000))
def test_the_search_box_holds_every_point_of_the_circle(
    la: float, ln: float, la2: float, ln2: float, r: float
) -> None:
    if haversine_m(la, ln, la2, ln2) <= r:
        min_lat, max_lat, min_lng, max_lng = bounding_box(la, ln, r)
        assert min_lat <= la2 <= max_lat
        if min_lng >= -180 and max_lng <= 180:
            assert min_lng - 1e-9 <= ln2 <= max_lng + 1e-9


def _at(local: str) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=SH).astimezone(UTC)


def test_open_across_midnight_in_the_federations_zone() -> None:
    # 2026-12-11 is a Friday.
    h = parse_hours({"weekly": {"fri": ["18:00-02:00"], "sat": ["10:00-12:00"]}})
    assert is_open(h, _at("2026-12-11T23:30"), SH)
    assert is_open(h, _at("2026-12-12T01:59"), SH)  # Friday's span, Saturday morning
    assert not is_open(h, _at("2026-12-12T02:00"), SH)
    assert not is_open(h, _at("2026-12-11T17:59"), SH)
    assert is_open(h, _at("2026-12-12T11:00"), SH)
    # 15:30 UTC on Friday is 23:30 in Beijing: open; the same instant read in UTC is not.
    assert is_open(h, datetime(2026, 12, 11, 15, 30, tzinfo=UTC), SH)
    assert not is_open(h, datetime(2026, 12, 11, 15, 30, tzinfo=UTC), ZoneInfo("UTC"))


def test_closures_cancel_the_spans_that_start_on_their_days() -> None:
    h = parse_hours(
        {
            "weekly": {"fri": ["18:00-02:00"], "sat": ["10:00-22:00"]},
            "closures": [{"first": "2026-12-12", "last": "2026-12-12", "note": "盘点"}],
        }
    )
    assert is_open(h, _at("2026-12-12T01:00"), SH)  # Friday's night still runs
    assert not is_open(h, _at("2026-12-12T11:00"), SH)
    h2 = parse_hours({"weekly": {"fri": ["18:00-02:00"]}, "closures": [{"first": "2026-12-11"}]})
    assert not is_open(h2, _at("2026-12-12T01:00"), SH)


def test_whole_day_and_unknown_hours() -> None:
    h = parse_hours({"weekly": {"mon": ["00:00-24:00"]}})
    assert is_open(h, _at("2026-12-07T00:00"), SH) and is_open(h, _at("2026-12-07T23:59"), SH)
    assert not is_open(h, _at("2026-12-08T00:00"), SH)
    assert not is_open(None, _at("2026-12-07T12:00"), SH)
    assert not is_open(parse_hours({}), _at("2026-12-07T12:00"), SH)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 23), st.integers(0, 59), st.integers(0, 24 * 60 - 1))
def test_a_span_is_open_exactly_inside_it(h: int, m: int, minute: int) -> None:
    """Every day the same span: open at a minute iff it falls in [start, end) (mod a day)."""
    start = h * 60 + m
    end = (start + 7 * 60) % (24 * 60)
    span = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
    hrs = parse_hours(
        {"weekly": {d: [span] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
    )
    at = _at(f"2026-12-09T{minute // 60:02d}:{minute % 60:02d}")
    inside = (minute - start) % (24 * 60) < 7 * 60
    assert is_open(hrs, at, SH) == inside


@pytest.mark.parametrize(
    "raw",
    [
        {"weekly": {"mon": ["25:00-26:00"]}},
        {"weekly": {"mon": ["09:00-24:30"]}},
        {"weekly": {"mon": "09:00-21:00"}},
        {"weekly": {"mon": ["09:00-21:00"] * 5}},
        {"closures": [{"first": 20270101}]},
        {"closures": [{"first": "2027-01-01", "last": "2028-06-01"}]},
        {"weekly": {}, "extra": 1},
        "09:00-21:00",
    ],
)
def test_malformed_hours_name_the_field(raw: object) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_hours(raw)
    assert exc.value.errors and exc.value.errors[0].field.startswith("hours")
