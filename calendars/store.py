"""Calendars in the database: official holidays and make-up workdays per calendar and year.

Operations edit calendars without a release: a year's holidays and make-up workdays are set
through the API or imported from a file (CSV `date,kind,name` lines or JSON), and replace the
table the `chinesecalendar` package ships for that year; `seed` copies the package's years into
the database so they can be reviewed and edited. Reading merges the two: a year the database
holds wins, any other year comes from the package (calendar "CN"), else only the weekly pattern
applies; `business_calendar` is that merge as a `BusinessCalendar`, the one every deadline
(tickets, tasks, journeys, leads) computes with. Every edit is audited in the caller's
transaction. Weekly patterns and branch time zones live in `calendars.store_week`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from calendars.business import BusinessCalendar, YearTable
from calendars.official import NAMES, get_calendar
from store import audit
from store.base import utcnow
from store.calendar import CalendarDay, CalendarYear

KINDS = ("holiday", "workday")


class CalendarDataError(ValueError):
    """Calendar data that cannot be stored (unknown calendar, bad date, bad hours)."""


@dataclass
class YearData:
    """One year's official table: day -> name (may be empty) for days off and make-up days."""

    holidays: dict[dt.date, str | None] = field(default_factory=dict)
    workdays: dict[dt.date, str | None] = field(default_factory=dict)
    source: str | None = None  # "database" | "package" | None (weekly pattern only)


def require_known(name: str) -> None:
    if name not in NAMES:
        raise CalendarDataError(f"unknown calendar {name!r}; known: {', '.join(NAMES)}")


def package_year(name: str, year: int) -> YearData:
    """The year's table as shipped in the package ("CN"); empty source when it has none."""
    table = get_calendar(name).years.get(year)
    if table is None:
        return YearData()
    return YearData(dict.fromkeys(table.holidays), dict.fromkeys(table.workdays), "package")


def database_years(session: Session, name: str) -> list[int]:
    query = sa.select(CalendarYear.year).where(CalendarYear.calendar == name)
    return sorted(session.scalars(query))


def year_data(session: Session, name: str, year: int) -> YearData:
    """The table in force for `year`: the database's if it holds one, else the package's."""
    require_known(name)
    held = session.scalar(
        sa.select(CalendarYear.id).where(CalendarYear.calendar == name, CalendarYear.year == year)
    )
    if held is None:
        return package_year(name, year)
    data = YearData(source="database")
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    rows = session.scalars(
        sa.select(CalendarDay).where(
            CalendarDay.calendar == name, CalendarDay.falls_on.between(first, last)
        )
    )
    for row in rows:
        (data.holidays if row.kind == "holiday" else data.workdays)[row.falls_on] = row.name
    return data


def business_calendar(session: Session, name: str) -> BusinessCalendar:
    """The named calendar in force: the package's tables with the database's years over them."""
    require_known(name)
    held = database_years(session, name)
    off: dict[int, set[dt.date]] = {year: set() for year in held}
    on: dict[int, set[dt.date]] = {year: set() for year in held}
    rows = session.execute(
        sa.select(CalendarDay.falls_on, CalendarDay.kind).where(CalendarDay.calendar == name)
    )
    for day, kind in rows:
        if day.year in off:  # as in `year_data`: only a held year's days count
            (off if kind == "holiday" else on)[day.year].add(day)
    # A held year with no day still replaces the package's table: the year is known, and free.
    tables = {year: YearTable(frozenset(off[year]), frozenset(on[year])) for year in held}
    return get_calendar(name).extended(tables)


def set_year(
    session: Session, name: str, year: int, data: YearData, *, actor: str, source: str = "api"
) -> None:
    """Replace the database's table for `year` (creating it) and audit the change."""
    require_known(name)
    days = [(d, "holiday", n) for d, n in data.holidays.items()]
    days += [(d, "workday", n) for d, n in data.workdays.items()]
    if any(d.year != year for d, _, _ in days):
        raise CalendarDataError(f"every day of the {year} table must fall in {year}")
    if set(data.holidays) & set(data.workdays):
        raise CalendarDataError("a day cannot be both a holiday and a make-up workday")
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    session.execute(
        sa.delete(CalendarDay).where(
            CalendarDay.calendar == name, CalendarDay.falls_on.between(first, last)
        )
    )
    session.add_all(
        CalendarDay(calendar=name, falls_on=d, kind=kind, name=(n or None) and n[:64])
        for d, kind, n in sorted(days)
    )
    row = session.scalar(
        sa.select(CalendarYear).where(CalendarYear.calendar == name, CalendarYear.year == year)
    )
    if row is None:
        row = CalendarYear(calendar=name, year=year, source=source, updated_by=actor)
        session.add(row)
    row.source, row.updated_by, row.updated_at = source, actor, utcnow()
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="calendar.year_set",
        subject_type="calendar",
        subject_id=f"{name}/{year}",
        detail={"source": source, "holidays": len(data.holidays), "workdays": len(data.workdays)},
    )


def seed(session: Session, name: str, *, actor: str) -> list[int]:
    """Copy the package's years the database does not hold yet; the years copied."""
    require_known(name)
    held = set(database_years(session, name))
    copied = [year for year in sorted(get_calendar(name).years) if year not in held]
    for year in copied:
        set_year(session, name, year, package_year(name, year), actor=actor, source="seed")
    return copied


def parse_file(text: str) -> dict[int, YearData]:
    """Years in a calendar file: JSON `{"holidays": [...], "workdays": [...]}` (dates, or
    `{"date", "name"}` objects) or CSV lines `date,kind[,name]` (`kind`: holiday | workday)."""
    entries: list[tuple[str, str, str | None]] = []
    stripped = text.strip()
    try:
        if stripped.startswith("{"):
            doc = json.loads(stripped)
            for kind, key in (("holiday", "holidays"), ("workday", "workdays")):
                for item in doc.get(key, []):
                    item = item if isinstance(item, Mapping) else {"date": item}
                    entries.append((str(item["date"]), kind, item.get("name")))
        else:
            skipped = text[: len(text) - len(text.lstrip())].count("\n")  # leading blank lines
            for number, line in enumerate(csv.reader(io.StringIO(stripped)), 1 + skipped):
                if not line or line[0].strip().startswith("#") or line[0].strip() == "date":
                    continue
                if len(line) < 2:  # a missing kind, or another separator (Excel's `;`)
                    raise CalendarDataError(
                        f"line {number}: {','.join(line)[:40]!r} needs date,kind[,name]"
                    )
                name = line[2].strip() if len(line) > 2 else None
                entries.append((line[0].strip(), line[1].strip(), name))
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise CalendarDataError(f"not a calendar file: {exc}") from None
    years: dict[int, YearData] = {}
    for text_date, kind, name in entries:
        if kind not in KINDS:
            raise CalendarDataError(f"{text_date}: kind must be holiday or workday, not {kind!r}")
        try:
            day = dt.date.fromisoformat(text_date)
        except ValueError:
            raise CalendarDataError(f"{text_date!r} is not a date (YYYY-MM-DD)") from None
        data = years.setdefault(day.year, YearData(source="file"))
        (data.holidays if kind == "holiday" else data.workdays)[day] = name
    return years


def import_file(session: Session, name: str, text: str, *, actor: str) -> list[int]:
    """Replace the tables of every year the file names; the years imported."""
    years = parse_file(text)
    for year, data in sorted(years.items()):
        set_year(session, name, year, data, actor=actor, source="file")
    return sorted(years)
