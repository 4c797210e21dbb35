"""Business calendars as data operations edit without a release, and branch time zones.

A `calendar_year` row says the database holds that year's official table for a calendar (it
then replaces the table shipped in the `chinesecalendar` package, even when it lists no day);
its `calendar_day` rows are the year's holidays (days off) and make-up workdays. A year with no
row falls back to the package data (for "CN"), else to the weekly pattern alone.
`calendar_week` overrides a calendar's weekly pattern (which weekdays are worked, and hours that
differ from an SLA's); `branch_timezone` is the zone an SLA with `timezone from branch` counts in.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, BigIntId, utcnow


class CalendarYear(Base):
    __tablename__ = "calendar_year"
    __table_args__ = (sa.UniqueConstraint("calendar", "year"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    calendar: Mapped[str] = mapped_column(sa.String(32))
    year: Mapped[int]
    source: Mapped[str] = mapped_column(sa.String(16))  # seed | api | file
    updated_by: Mapped[str] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CalendarDay(Base):
    __tablename__ = "calendar_day"
    __table_args__ = (sa.UniqueConstraint("calendar", "falls_on"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    calendar: Mapped[str] = mapped_column(sa.String(32))
    falls_on: Mapped[date] = mapped_column(sa.Date)
    kind: Mapped[str] = mapped_column(sa.String(16))  # holiday | workday
    name: Mapped[str | None] = mapped_column(sa.String(64))  # e.g. "National Day"


class CalendarWeek(Base):
    __tablename__ = "calendar_week"

    calendar: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    # weekday ("mon".."sun") -> null (closed), "open" (the SLA's hours) or ["08:30", "12:00"]
    days: Mapped[dict[str, Any]]
    updated_by: Mapped[str] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class BranchTimezone(Base):
    __tablename__ = "branch_timezone"

    branch: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    timezone: Mapped[str] = mapped_column(sa.String(64))
    updated_by: Mapped[str] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
