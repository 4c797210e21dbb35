"""The calendars rulebank knows by name: "CN" (mainland China) and "WEEKDAYS".

"CN" is built from the `chinesecalendar` package (import name `chinese_calendar`), which ships
the State Council's official holidays and make-up workdays as data, so it works offline. The
State Council announces each year's schedule late in the previous year; until the package (or
a table loaded from the database via `BusinessCalendar.extended`) carries it, that year falls
back to weekends only, and `unknown_years` lets callers warn about it. "WEEKDAYS" is Monday to
Friday with no holidays, for rulesets that keep their own holiday list elsewhere.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from functools import cache

from calendars.business import BusinessCalendar, YearTable

NAMES = ("CN", "WEEKDAYS")


def _tables(holidays: Iterable[dt.date], workdays: Iterable[dt.date]) -> dict[int, YearTable]:
    off: dict[int, set[dt.date]] = defaultdict(set)
    on: dict[int, set[dt.date]] = defaultdict(set)
    for day in holidays:
        off[day.year].add(day)
    for day in workdays:
        on[day.year].add(day)
    return {
        year: YearTable(frozenset(off[year]), frozenset(on[year])) for year in sorted({*off, *on})
    }


def cn_tables() -> dict[int, YearTable]:
    """Year -> official holidays and make-up workdays of mainland China, from the package data."""
    import chinese_calendar

    return _tables(chinese_calendar.holidays, chinese_calendar.workdays)


@cache
def get_calendar(name: str) -> BusinessCalendar:
    """The named calendar; ValueError for a name rulebank does not know."""
    if name == "CN":
        return BusinessCalendar("CN", cn_tables())
    if name == "WEEKDAYS":
        return BusinessCalendar("WEEKDAYS")
    raise ValueError(f"unknown calendar {name!r}; known: {', '.join(NAMES)}")


def unknown_years(calendar: BusinessCalendar, start: dt.date, end: dt.date) -> list[int]:
    """Years between `start` and `end` that `calendar` has no holiday table for."""
    if calendar.name == "WEEKDAYS":
        return []
    return [year for year in range(start.year, end.year + 1) if not calendar.covers(year)]
