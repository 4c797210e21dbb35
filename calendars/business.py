"""Business time: which days are worked, and deadlines counted in business days and hours.

A `BusinessCalendar` is data: a weekend plus, per year, a table of official holidays (days off
that would be worked) and make-up workdays (weekend days that are worked). The tables come from
`calendars.official` today and could come from the database tomorrow; years without a table
fall back to the weekend rule alone (`covers(year)` says which years are known). Everything
here is pure and deterministic, so activities may compute deadlines that workflows then keep.

Semantics, shared by task deadlines and SLA clocks:
- "N business days" without business hours: the Nth business day after the start's local date,
  at the start's local time (Monday 10:00 + 3 business days = Thursday 10:00; a start on a day
  off counts from that day, so Saturday 10:00 + 1 = Monday 10:00).
- "N business days" with business hours: N times the length of one business day, counted as
  business hours (with 09:00-18:00, one business day is nine business hours).
- Business hours and minutes count only time inside business hours of business days (without
  hours, the whole of each business day); a deadline that uses up a day exactly ends at that
  day's close, not at the next day's open, so `business_seconds_between(a, add(a, d)) == d`.
- Durations that are not business time are absolute (minutes to weeks) or calendar months and
  years in the local zone (the day clamped to the month's end).
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from zoneinfo import ZoneInfo

from dsl.plan import DurationSpec

Hours = tuple[dt.time, dt.time] | None  # business hours of a day, local; None = the whole day
_MAX_DAYS = 3660  # a calendar with no business day in ten years is a data error, not a loop


@dataclass(frozen=True)
class YearTable:
    """One year's exceptions to the weekend rule."""

    holidays: frozenset[dt.date] = frozenset()  # days off (official holidays)
    workdays: frozenset[dt.date] = frozenset()  # make-up workdays on weekends


@dataclass(frozen=True)
class BusinessCalendar:
    name: str
    years: Mapping[int, YearTable] = field(default_factory=dict)
    weekend: frozenset[int] = frozenset({5, 6})  # date.weekday(): Saturday, Sunday

    def __post_init__(self) -> None:
        object.__setattr__(self, "years", MappingProxyType(dict(self.years)))

    def covers(self, year: int) -> bool:
        """Whether this calendar has a holiday table for `year` (else only weekends apply)."""
        return year in self.years

    def extended(self, tables: Mapping[int, YearTable]) -> BusinessCalendar:
        """A copy whose tables for the given years replace (or add to) this calendar's."""
        return BusinessCalendar(self.name, {**self.years, **tables}, self.weekend)

    def is_business_day(self, day: dt.date) -> bool:
        """Worked on `day`: a make-up workday, or not a weekend day and not a holiday."""
        table = self.years.get(day.year)
        if table is not None:
            if day in table.workdays:
                return True
            if day in table.holidays:
                return False
        return day.weekday() not in self.weekend

    def business_days_after(self, day: dt.date, count: int) -> dt.date:
        """The `count`th business day after `day` (`day` itself when count is 0)."""
        idle = 0
        while count > 0:
            day += _ONE_DAY
            if self.is_business_day(day):
                count, idle = count - 1, 0
            elif (idle := idle + 1) > _MAX_DAYS:
                raise ValueError(f"calendar {self.name} has no business days after {day}")
        return day

    def add(
        self, start: dt.datetime, duration: DurationSpec, *, hours: Hours = None, tz: str
    ) -> dt.datetime:
        """`start` plus `duration` on this calendar, in `start`'s own time zone."""
        _require_aware(start)
        zone = ZoneInfo(tz)
        local = start.astimezone(zone)
        if not duration.business or duration.unit in ("month", "year"):
            seconds = duration.fixed_seconds()
            if seconds is not None:
                return start + dt.timedelta(seconds=seconds)
            months = duration.amount * (12 if duration.unit == "year" else 1)
            return _add_months(local, months).astimezone(start.tzinfo)
        if duration.unit in ("day", "week"):
            days = duration.amount * (5 if duration.unit == "week" else 1)
            if hours is None:
                day = self.business_days_after(local.date(), days)
                return _at(day, local.time(), zone).astimezone(start.tzinfo)
            seconds = days * _span(hours)
        else:
            seconds = duration.amount * (3600 if duration.unit == "hour" else 60)
        return self.add_business_seconds(start, seconds, hours=hours, tz=tz)

    def add_business_seconds(
        self, start: dt.datetime, seconds: float, *, hours: Hours = None, tz: str
    ) -> dt.datetime:
        """The instant when `seconds` of business time have passed since `start`."""
        _require_aware(start)
        # timedelta, not float: whole microseconds add up exactly over any number of days.
        remaining = dt.timedelta(seconds=seconds)
        for open_, close in self._intervals(start, tz, hours):
            begin = max(open_, start)
            if begin >= close:
                continue
            available = close - begin
            if remaining <= available:
                return (begin + remaining).astimezone(start.tzinfo)
            remaining -= available
        raise AssertionError("unreachable: _intervals never ends without `until`")

    def business_seconds_between(
        self, a: dt.datetime, b: dt.datetime, *, hours: Hours = None, tz: str
    ) -> float:
        """Business seconds from `a` to `b` (negative when `b` is before `a`)."""
        _require_aware(a), _require_aware(b)
        if b < a:
            return -self.business_seconds_between(b, a, hours=hours, tz=tz)
        total = dt.timedelta(0)
        for open_, close in self._intervals(a, tz, hours, until=b):
            begin, end = max(open_, a), min(close, b)
            if end > begin:
                total += end - begin
        return total.total_seconds()

    def _intervals(
        self, start: dt.datetime, tz: str, hours: Hours, until: dt.datetime | None = None
    ) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Business intervals (aware, UTC) of each business day from `start`'s local date."""
        if hours is not None and not hours[0] < hours[1]:
            raise ValueError(f"business hours must open before they close: {hours}")
        zone = ZoneInfo(tz)
        day = start.astimezone(zone).date()
        searched = 0
        while until is None or _at(day, dt.time(0), zone) < until:
            searched = 0 if self.is_business_day(day) else searched + 1
            if searched > _MAX_DAYS:
                raise ValueError(f"calendar {self.name} has no business time after {start}")
            if self.is_business_day(day):
                if hours is None:
                    open_, close = _at(day, dt.time(0), zone), _at(day + _ONE_DAY, dt.time(0), zone)
                else:
                    open_, close = _at(day, hours[0], zone), _at(day, hours[1], zone)
                yield open_.astimezone(dt.UTC), close.astimezone(dt.UTC)
            day += _ONE_DAY


_ONE_DAY = dt.timedelta(days=1)


def _span(hours: tuple[dt.time, dt.time]) -> float:
    """Seconds in one business day of `hours`."""
    today = dt.date(2000, 1, 3)
    return (dt.datetime.combine(today, hours[1]) - dt.datetime.combine(today, hours[0])).seconds


def _at(day: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    # Through UTC and back: a local time that does not exist (a DST gap) moves forward.
    return dt.datetime.combine(day, time, tzinfo=zone).astimezone(dt.UTC).astimezone(zone)


def _add_months(local: dt.datetime, months: int) -> dt.datetime:
    index = local.year * 12 + local.month - 1 + months
    year, month = divmod(index, 12)
    day = min(local.day, _cal.monthrange(year, month + 1)[1])
    naive = local.replace(tzinfo=None, year=year, month=month + 1, day=day)
    return _at(naive.date(), naive.time(), local.tzinfo)  # type: ignore[arg-type]


def _require_aware(value: dt.datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: business time needs an aware datetime")


def parse_hours(start: str | None, end: str | None) -> Hours:
    """Business hours from "09:00"/"18:00" strings; None when either is missing."""
    if start is None or end is None:
        return None
    return dt.time.fromisoformat(start), dt.time.fromisoformat(end)
