"""Window arithmetic: month ends, leap years, ISO weeks, DST days, odd offsets, rolling buckets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from otel_llmcost.budgets._store import RollingSpec
from otel_llmcost.budgets._windows import Window

UTC = timezone.utc


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def hours(window: tuple[datetime | None, datetime | None]) -> float:
    start, end = window
    assert start is not None and end is not None
    return (end - start).total_seconds() / 3600


@pytest.mark.parametrize("spec", ["total", "monthly", "weekly", "daily", "hourly", "1h", "24h", "7d", "366d"])
def test_documented_windows_parse(spec: str) -> None:
    assert Window.parse(spec).spec == spec


@pytest.mark.parametrize("spec", ["0h", "1.5h", "24H", "3w", "yearly", "", "-1d", "367d", "01h", " 1h"])
def test_other_windows_are_rejected_with_the_accepted_forms(spec: str) -> None:
    with pytest.raises(ValueError, match=r"expected total, monthly, weekly, daily, hourly, <N>d or <N>h"):
        Window.parse(spec)


def test_total_has_no_bounds() -> None:
    window = Window.parse("total")
    assert window.bounds(utc(2026, 11, 22)) == (None, None)
    assert window.window_id(utc(2026, 11, 22)) == "total"
    assert window.resets_at(utc(2026, 11, 22)) is None
    assert window.ttl_seconds(utc(2026, 11, 22)) is None
    assert window.rolling is None


def test_month_ends_and_year_end() -> None:
    monthly = Window.parse("monthly")
    assert monthly.bounds(utc(2026, 1, 31, 23, 59, 59)) == (utc(2026, 1, 1), utc(2026, 2, 1))
    assert monthly.bounds(utc(2026, 2, 1)) == (utc(2026, 2, 1), utc(2026, 3, 1))
    assert monthly.bounds(utc(2026, 12, 31, 12)) == (utc(2026, 12, 1), utc(2027, 1, 1))
    assert monthly.window_id(utc(2026, 12, 31, 23, 59)) == "2026-12"
    assert monthly.window_id(utc(2027, 1, 1)) == "2027-01"


def test_leap_years() -> None:
    monthly, daily = Window.parse("monthly"), Window.parse("daily")
    assert hours(monthly.bounds(utc(2028, 2, 15))) == 29 * 24
    assert hours(monthly.bounds(utc(2026, 2, 15))) == 28 * 24
    assert hours(monthly.bounds(utc(2100, 2, 15))) == 28 * 24  # divisible by 100, not by 400
    assert hours(monthly.bounds(utc(2000, 2, 15))) == 29 * 24
    assert daily.window_id(utc(2028, 2, 29, 12)) == "2028-02-29"
    assert daily.bounds(utc(2028, 2, 29, 12)) == (utc(2028, 2, 29), utc(2028, 3, 1))


@pytest.mark.parametrize(
    ("day", "week_id", "monday"),
    [
        (utc(2026, 11, 22, 12), "2026-W47", utc(2026, 11, 16)),  # a Sunday belongs to the week before
        (utc(2026, 12, 31), "2026-W53", utc(2026, 12, 28)),  # 2026 has 53 ISO weeks
        (utc(2027, 1, 3), "2026-W53", utc(2026, 12, 28)),  # early January in the previous ISO year
        (utc(2027, 1, 4), "2027-W01", utc(2027, 1, 4)),
        (utc(2025, 12, 29), "2026-W01", utc(2025, 12, 29)),  # late December in the next ISO year
        (utc(2021, 1, 1), "2020-W53", utc(2020, 12, 28)),
    ],
)
def test_iso_weeks(day: datetime, week_id: str, monday: datetime) -> None:
    weekly = Window.parse("weekly")
    assert weekly.window_id(day) == week_id
    assert weekly.bounds(day) == (monday, monday + timedelta(days=7))


@pytest.mark.parametrize(
    ("zone", "day", "length"),
    [
        ("America/New_York", utc(2026, 3, 8, 12), 23),  # spring forward
        ("America/New_York", utc(2026, 11, 1, 12), 25),  # fall back
        ("Europe/Berlin", utc(2026, 3, 29, 12), 23),
        ("Europe/Berlin", utc(2026, 10, 25, 12), 25),
        ("Europe/Berlin", utc(2026, 10, 26, 12), 24),
    ],
)
def test_dst_days_last_23_or_25_hours(zone: str, day: datetime, length: int) -> None:
    daily = Window.parse("daily", zone)
    start, end = daily.bounds(day)
    assert hours((start, end)) == length
    assert start is not None and end is not None
    local = start.astimezone(daily.tz)
    assert (local.hour, local.minute, local.date()) == (0, 0, day.date())
    assert end.astimezone(daily.tz).hour == 0


def test_berlin_month_and_week_with_a_dst_change() -> None:
    start, end = Window.parse("monthly", "Europe/Berlin").bounds(utc(2026, 10, 15))
    assert (start, end) == (utc(2026, 9, 30, 22), utc(2026, 10, 31, 23))  # CEST → CET inside
    start, end = Window.parse("weekly", "Europe/Berlin").bounds(utc(2026, 10, 25, 12))
    assert (start, end) == (utc(2026, 10, 18, 22), utc(2026, 10, 25, 23))  # Mon 00:00 CEST → Mon 00:00 CET


def test_new_york_hours_around_dst() -> None:
    hourly = Window.parse("hourly", "America/New_York")
    # Fall back 2026-11-01: 01:00-02:00 happens twice (EDT, then EST); each is its own window.
    assert hourly.bounds(utc(2026, 11, 1, 5, 30)) == (utc(2026, 11, 1, 5), utc(2026, 11, 1, 6))
    assert hourly.window_id(utc(2026, 11, 1, 5, 30)) == "2026-11-01T01"
    assert hourly.bounds(utc(2026, 11, 1, 6, 30)) == (utc(2026, 11, 1, 6), utc(2026, 11, 1, 7))
    assert hourly.window_id(utc(2026, 11, 1, 6, 30)) == "2026-11-01T01b"
    # Spring forward 2026-03-08: 02:00 does not exist; 01:xx EST is followed by 03:00 EDT.
    assert hourly.bounds(utc(2026, 3, 8, 6, 30)) == (utc(2026, 3, 8, 6), utc(2026, 3, 8, 7))
    assert hourly.window_id(utc(2026, 3, 8, 7, 30)) == "2026-03-08T03"


@pytest.mark.parametrize(("zone", "minutes"), [("Asia/Kolkata", 30), ("Asia/Kathmandu", 15)])
def test_hourly_aligns_to_the_local_hour_in_odd_offsets(zone: str, minutes: int) -> None:
    hourly = Window.parse("hourly", zone)
    now = utc(2026, 11, 22, 7, 50)  # 13:20 in Kolkata, 13:35 in Kathmandu
    start, end = hourly.bounds(now)
    assert start is not None and end is not None
    assert (start.hour, start.minute) == ((7, 30) if minutes == 30 else (7, 15))
    assert end - start == timedelta(hours=1)
    assert hourly.window_id(now) == "2026-11-22T13"
    assert Window.parse("daily", zone).bounds(now)[0] == utc(2026, 11, 21, 18, 30 if minutes == 30 else 15)


def test_a_day_that_starts_in_a_dst_gap() -> None:
    # Santiago springs forward at local midnight: 2026-09-06 begins at 01:00 (-03).
    start, end = Window.parse("daily", "America/Santiago").bounds(utc(2026, 9, 6, 12))
    assert (start, end) == (utc(2026, 9, 6, 4), utc(2026, 9, 7, 3))
    assert hours((start, end)) == 23


@pytest.mark.parametrize(
    "zone",
    ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "America/Santiago", "Australia/Lord_Howe"],
)
@pytest.mark.parametrize("spec", ["hourly", "daily", "weekly", "monthly"])
def test_windows_tile_time_without_gaps_or_overlaps(zone: str, spec: str) -> None:
    window = Window.parse(spec, zone)
    # Walk the months around both DST changes (southern-hemisphere zones change in Apr / Sep-Oct).
    for first, last in ((utc(2026, 3, 1), utc(2026, 4, 10)), (utc(2026, 9, 1), utc(2026, 11, 10))):
        now, seen = first, set()
        while now < last:
            start, end = window.bounds(now)
            assert start is not None and end is not None
            assert start <= now < end
            assert window.bounds(end)[0] == end  # the next window starts where this one ends
            assert window.bounds(end - timedelta(microseconds=1)) == (start, end)
            window_id = window.window_id(now)
            assert window_id not in seen
            assert window.window_id(end - timedelta(seconds=1)) == window_id
            seen.add(window_id)
            now = end


def test_calendar_ttl_runs_to_the_end_plus_grace() -> None:
    now = utc(2026, 11, 22, 13, 15)
    assert Window.parse("monthly").ttl_seconds(now) == (utc(2026, 12, 1) - now).total_seconds() + 86_400
    assert Window.parse("hourly").ttl_seconds(now) == 45 * 60 + 3600  # grace is at most one window


def test_rolling_windows_use_60_buckets() -> None:
    window = Window.parse("24h", "Asia/Kolkata")  # the zone does not matter to a rolling window
    assert window.rolling == RollingSpec(bucket_seconds=1440, buckets=60)
    assert Window.parse("1h").rolling == RollingSpec(60, 60)
    assert Window.parse("7d").rolling == RollingSpec(10_080, 60)
    now = utc(2026, 11, 22, 13, 15, 30)
    index = window.bucket_index(now)
    assert index == int(now.timestamp()) // 1440
    assert window.bucket_index(now.timestamp()) == index
    start, end = window.bounds(now)
    assert start is not None and end is not None
    assert end == datetime.fromtimestamp((index + 1) * 1440, UTC)
    assert end - start == timedelta(hours=24)  # exactly the window: 60 whole buckets
    assert window.resets_at(now) == end  # when the oldest counted bucket drops out
    assert window.window_id(now) == "rolling"
    assert window.ttl_seconds(now) == 86_400 + 1440


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Window.parse("daily").bounds(datetime(2026, 11, 22))
    with pytest.raises(ValueError, match="not a rolling window"):
        Window.parse("daily").bucket_index(utc(2026, 11, 22))
