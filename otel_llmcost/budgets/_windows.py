"""Budget windows: calendar windows aligned in an IANA time zone, and rolling windows.

Calendar windows (``monthly``, ``weekly`` (ISO, Monday), ``daily``, ``hourly``) start at local
midnight or the local hour in the window's zone, DST included: a local day lasts 23 or 25 hours
on transition days, and in a zone with a 30/45-minute offset (Asia/Kolkata) an hour starts at
hh:30 UTC. A window's id (``2026-11``, ``2026-W47``, ``2026-11-22``, ``2026-11-22T13``) names
it in budget keys; the hour repeated when clocks fall back gets the id suffix ``b``.

A rolling window ``Nh`` / ``Nd`` is tracked in 60 equal buckets of ``length / 60`` seconds,
aligned to the Unix epoch (a rolling window is the same everywhere, whatever the zone): the
spend counted at ``now`` is that of the current bucket and the 59 before it, so the window
slides in steps of one bucket and ``resets_at`` is when its oldest bucket drops out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo

from otel_llmcost.budgets._store import RollingSpec

__all__ = ["CALENDAR_GRACE_SECONDS", "ROLLING_BUCKETS", "UTC", "Window", "WindowKind"]

UTC = timezone.utc
ROLLING_BUCKETS = 60
CALENDAR_GRACE_SECONDS = 86_400
"""A calendar window's key outlives the window by this (at most one window length), so late
settles land and status reads still see the window that just ended."""

WindowKind = Literal["total", "monthly", "weekly", "daily", "hourly", "rolling"]
_CALENDAR = frozenset({"monthly", "weekly", "daily", "hourly"})
_ROLLING = re.compile(r"([1-9][0-9]{0,3})([dh])")
_MAX_ROLLING_HOURS = 366 * 24
_ONE_HOUR = timedelta(hours=1)
_EXPECTED = "expected total, monthly, weekly, daily, hourly, <N>d or <N>h (N ≥ 1, at most 366 days)"


@dataclass(frozen=True)
class Window:
    """A parsed ``window:`` value in a zone. Build with :meth:`parse`."""

    spec: str
    kind: WindowKind
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    length_seconds: int = 0  # rolling windows only
    # The calendar window computed last, (start, end, id): calls cluster in the current window,
    # so the zone arithmetic (tens of µs) runs about once per window rather than once per call.
    # Replaced whole, so threads never see a torn value.
    _last: tuple[datetime, datetime, str] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def parse(cls, spec: str, tz: ZoneInfo | str = "UTC") -> Window:
        """Parse a window; ``ValueError`` (with the accepted forms) when ``spec`` is not one."""
        zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        if spec == "total" or spec in _CALENDAR:
            return cls(spec, spec, zone)  # type: ignore[arg-type]
        match = _ROLLING.fullmatch(spec) if isinstance(spec, str) else None
        if match is None:
            raise ValueError(f"{_EXPECTED}, got {spec!r}")
        hours = int(match[1]) * (24 if match[2] == "d" else 1)
        if hours > _MAX_ROLLING_HOURS:
            raise ValueError(f"{_EXPECTED}, got {spec!r}")
        return cls(spec, "rolling", zone, hours * 3600)

    @property
    def is_calendar(self) -> bool:
        return self.kind in _CALENDAR

    @cached_property
    def rolling(self) -> RollingSpec | None:
        """The bucket layout of a rolling window (``None`` for the others)."""
        if self.kind != "rolling":
            return None
        return RollingSpec(self.length_seconds // ROLLING_BUCKETS, ROLLING_BUCKETS)

    def _current(self, now: datetime) -> tuple[datetime, datetime, str]:
        """``(start, end, id)`` of the calendar window containing ``now``."""
        last = self._last
        if last is not None and last[0] <= now < last[1]:
            return last
        local = _aware(now).astimezone(self.tz)
        start, end = self._hour_bounds(local) if self.kind == "hourly" else self._day_bounds(local)
        current = (start, end, self._label(local))
        object.__setattr__(self, "_last", current)  # a cache, not state: frozen still holds
        return current

    # -- calendar arithmetic -------------------------------------------------------------------

    def bounds(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        """``(start, end)`` of the window containing ``now``, UTC-aware; ``(None, None)`` for
        ``total``. For a rolling window: the start of its oldest counted bucket and the end of
        the current one (exactly the window's length apart)."""
        if self.kind == "total":
            return None, None
        if self.kind == "rolling":
            size = self.length_seconds // ROLLING_BUCKETS
            current = self.bucket_index(now)
            first = current - ROLLING_BUCKETS + 1
            return _from_epoch(first * size), _from_epoch((current + 1) * size)
        start, end, _ = self._current(_aware(now))
        return start, end

    def _day_bounds(self, local: datetime) -> tuple[datetime, datetime]:
        day = local.date()
        if self.kind == "daily":
            first_day, next_day = day, day + timedelta(days=1)
        elif self.kind == "weekly":
            first_day = day - timedelta(days=day.weekday())
            next_day = first_day + timedelta(days=7)
        else:
            first_day = day.replace(day=1)
            next_day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        return _local_start(first_day, 0, self.tz), _local_start(next_day, 0, self.tz)

    def _hour_bounds(self, local: datetime) -> tuple[datetime, datetime]:
        wall = local.replace(minute=0, second=0, microsecond=0)
        start = wall.astimezone(UTC)  # keeps ``fold``: the repeated hour has its own start
        if start.astimezone(self.tz).replace(tzinfo=None, fold=0) != wall.replace(tzinfo=None, fold=0):
            start = _local_start(wall.date(), wall.hour, self.tz)  # the hour began in a DST gap
        following = wall.replace(tzinfo=None) + _ONE_HOUR
        next_hour = _local_start(following.date(), following.hour, self.tz)
        # When clocks fall back, the next wall hour is two hours away; the window still ends
        # after one hour, where the repeated hour begins.
        end = min(next_hour, start + _ONE_HOUR)
        if end <= local:  # a 30-minute fall-back (Lord Howe): the repeated half hour
            return end, next_hour
        return start, end

    def window_id(self, now: datetime) -> str:
        """Stable id of the window containing ``now``: ``total``, ``rolling``, or the calendar
        window's local label (``2026-11``, ``2026-W47``, ``2026-11-22``, ``2026-11-22T13``)."""
        if self.kind in ("total", "rolling"):
            return self.kind
        return self._current(_aware(now))[2]

    def _label(self, local: datetime) -> str:
        if self.kind == "monthly":
            return f"{local.year:04d}-{local.month:02d}"
        if self.kind == "weekly":
            year, week, _ = local.isocalendar()
            return f"{year:04d}-W{week:02d}"
        if self.kind == "daily":
            return local.date().isoformat()
        repeated = local.fold == 1 and local.utcoffset() != local.replace(fold=0).utcoffset()
        return f"{local.date().isoformat()}T{local.hour:02d}{'b' if repeated else ''}"

    def resets_at(self, now: datetime) -> datetime | None:
        """End of the calendar window; ``None`` for ``total``; for a rolling window, when its
        oldest counted bucket drops out (the end of the current bucket)."""
        return self.bounds(now)[1]

    def bucket_index(self, now: datetime | float) -> int:
        """The rolling bucket ``now`` falls in, counted from the Unix epoch."""
        if self.kind != "rolling":
            raise ValueError(f"window {self.spec!r} is not a rolling window")
        seconds = now if isinstance(now, (int, float)) else _aware(now).timestamp()
        return int(seconds // (self.length_seconds // ROLLING_BUCKETS))

    def ttl_seconds(self, now: datetime) -> float | None:
        """How long a key of the window containing ``now`` must live: to the calendar window's
        end plus its grace, a rolling window's length plus one bucket; ``None`` for ``total``."""
        if self.kind == "total":
            return None
        if self.kind == "rolling":
            return float(self.length_seconds + self.length_seconds // ROLLING_BUCKETS)
        start, end, _ = self._current(_aware(now))
        grace = min(CALENDAR_GRACE_SECONDS, (end - start).total_seconds())
        return max((end - now).total_seconds(), 0.0) + grace


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("budget windows need a timezone-aware datetime")
    return now


def _from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _local_start(day: date, hour: int, tz: ZoneInfo) -> datetime:
    """The first instant (UTC) whose local time in ``tz`` is ``day`` at ``hour``:00 or later.

    An ambiguous wall time (clocks falling back) means its first occurrence; a wall time inside
    a DST gap means the instant the gap ends, found by bisection between the two readings of it.
    """
    wall = datetime(day.year, day.month, day.day, hour)
    first = wall.replace(tzinfo=tz).astimezone(UTC)  # fold=0: the earlier reading
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    low = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)  # before the gap
    high = first  # after it
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)
