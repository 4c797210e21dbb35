"""The SLA clock model: business time on a calendar snapshot, and clocks that pause.

Pure and deterministic (no I/O, no wall clock), so `TicketSLAWorkflow` computes due times itself
from the calendar snapshot in its input, and tests and benchmarks call the same functions.

A `WorkCalendar` is one ticket's business time: which local days are worked (a weekly pattern,
official holidays off, make-up workdays on) and the hours of each, in one time zone. A clock is
a list of *active segments* (half-open `[start, end)`, the last one open while it runs) and a
target in one of two measures: "business" (seconds inside business hours) or "wall" (elapsed
seconds, for targets such as `2 hours` that are not business time). Pausing closes a segment and
resuming opens the next, so every due time moves by exactly the business time spent paused.

- `elapsed(segments, measure, cal, at)`: the clock's accumulated time at `at`.
- `reach(segments, measure, cal, amount)`: the instant the accumulated time reaches `amount`,
  assuming an open last segment runs on; None when the clock is stopped or paused short of it.
  A due time is `reach(target)`, a warning at p% is `reach(p% of target)`, and "D after breach"
  is `reach` of D in its own measure counted from the breach instant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Literal
from zoneinfo import ZoneInfo

from dsl.plan import DurationSpec
from workflows.ticket_sla_types import CalendarSnapshot

Measure = Literal["business", "wall"]
Segment = tuple[dt.datetime, dt.datetime | None]
_DAY = dt.timedelta(days=1)
_MAX_IDLE_DAYS = 3660  # ten years without a worked day is a data error, not a loop


def _seconds(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


class WorkCalendar:
    """Business intervals of one calendar snapshot in its time zone (see the module docstring)."""

    def __init__(self, snapshot: CalendarSnapshot) -> None:
        self.snapshot = snapshot
        self.zone = ZoneInfo(snapshot.timezone)
        self.week = tuple(
            None if day is None else (_seconds(day[0]), _seconds(day[1])) for day in snapshot.week
        )
        self.standard = (_seconds(snapshot.day_hours[0]), _seconds(snapshot.day_hours[1]))
        self.day_seconds = self.standard[1] - self.standard[0]
        self.holidays = frozenset(snapshot.holidays)
        self.workdays = frozenset(snapshot.workdays)
        self._cache: dict[dt.date, tuple[dt.datetime, dt.datetime] | None] = {}

    def hours_on(self, day: dt.date) -> tuple[int, int] | None:
        """Local opening and closing second of `day`, or None when it is not worked."""
        if day in self.workdays:
            return self.standard  # a make-up workday is a full standard day
        if day in self.holidays:
            return None
        return self.week[day.weekday()]

    def interval(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The UTC business interval of local `day` (cached: a calendar is immutable)."""
        if day not in self._cache:
            hours = self.hours_on(day)
            if hours is None:
                self._cache[day] = None
            else:
                midnight = dt.datetime.combine(day, dt.time(0), tzinfo=self.zone)
                # Wall-clock arithmetic in the zone, then UTC: a DST day keeps its local hours.
                open_ = (midnight + dt.timedelta(seconds=hours[0])).astimezone(dt.UTC)
                close = (midnight + dt.timedelta(seconds=hours[1])).astimezone(dt.UTC)
                self._cache[day] = (open_, close)
        return self._cache[day]

    def intervals(self, start: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Business intervals from the local day of `start` on, without end."""
        day, idle = start.astimezone(self.zone).date() - _DAY, 0  # the day before: a night shift
        while True:
            span = self.interval(day)
            if span is None:
                idle += 1
                if idle > _MAX_IDLE_DAYS:
                    raise ValueError(f"calendar {self.snapshot.name} has no business days")
            else:
                idle = 0
                if span[1] > start:
                    yield span
            day += _DAY

    def between(self, a: dt.datetime, b: dt.datetime) -> float:
        """Business seconds from `a` to `b` (0 when `b` is not after `a`)."""
        total = 0.0
        if b <= a:
            return total
        for open_, close in self.intervals(a):
            if open_ >= b:
                break
            total += (min(close, b) - max(open_, a)).total_seconds()
        return total

    def add(self, start: dt.datetime, seconds: float) -> dt.datetime:
        """The instant `seconds` of business time after `start` (the close, not the next open)."""
        remaining = seconds
        start = start.astimezone(dt.UTC)
        if remaining <= 0:
            return start
        for open_, close in self.intervals(start):
            begin = max(open_, start)
            available = (close - begin).total_seconds()
            if remaining <= available:
                return begin + dt.timedelta(seconds=remaining)
            remaining -= available
        raise AssertionError("unreachable: intervals never end")


def target_of(
    duration: DurationSpec, cal: WorkCalendar, start: dt.datetime
) -> tuple[Measure, float]:
    """A target duration as (measure, seconds); business days count standard business days."""
    if duration.business and duration.unit in ("minute", "hour"):
        return "business", duration.amount * (60 if duration.unit == "minute" else 3600)
    if duration.business and duration.unit in ("day", "week"):
        days = duration.amount * (5 if duration.unit == "week" else 1)
        return "business", days * cal.day_seconds
    fixed = duration.fixed_seconds()
    if fixed is not None:
        return "wall", fixed
    # Calendar months and years: as long as they are from the clock's start, in its zone.
    return "wall", (add_calendar(start, duration, cal) - start).total_seconds()


def add_calendar(start: dt.datetime, duration: DurationSpec, cal: WorkCalendar) -> dt.datetime:
    """`start` plus a duration as a fixed deadline (regulatory): business time on `cal`."""
    if duration.business and duration.unit not in ("month", "year"):
        return cal.add(start, target_of(duration, cal, start)[1])
    fixed = duration.fixed_seconds()
    if fixed is not None:
        return (start + dt.timedelta(seconds=fixed)).astimezone(dt.UTC)
    local = start.astimezone(cal.zone)
    months = (
        local.year * 12 + local.month - 1 + duration.amount * (12 if duration.unit == "year" else 1)
    )
    year, month = divmod(months, 12)
    day = local.day
    while True:  # clamp 31 January + 1 month to the last day of February
        try:
            moved = local.replace(year=year, month=month + 1, day=day)
            break
        except ValueError:
            day -= 1
    return moved.astimezone(dt.UTC)


def _measure(cal: WorkCalendar, measure: Measure, a: dt.datetime, b: dt.datetime) -> float:
    if measure == "wall":
        return max((b - a).total_seconds(), 0.0)
    return cal.between(a, b)


def elapsed(
    segments: Sequence[Segment], measure: Measure, cal: WorkCalendar, at: dt.datetime
) -> float:
    """Accumulated clock time at `at` over the active segments."""
    total = 0.0
    for start, end in segments:
        if start >= at:
            break
        total += _measure(cal, measure, start, at if end is None else min(end, at))
    return total


def reach(
    segments: Sequence[Segment], measure: Measure, cal: WorkCalendar, amount: float
) -> dt.datetime | None:
    """When the accumulated time reaches `amount` (see the module docstring)."""
    remaining = amount
    for start, end in segments:
        if end is not None:
            spent = _measure(cal, measure, start, end)
            if spent < remaining:
                remaining -= spent
                continue
        if measure == "wall":
            return (start + dt.timedelta(seconds=remaining)).astimezone(dt.UTC)
        return cal.add(start, remaining)
    return None
