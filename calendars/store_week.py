"""Weekly patterns and branch time zones: the rest of a ticket's calendar, as data.

`calendar_week` overrides which weekdays a calendar works and, per weekday, hours that differ
from an SLA's own (a branch open on Saturday mornings); `branch_timezone` names the IANA zone an
SLA with `timezone from branch` counts in. Both are edited by operations and audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from calendars.store import CalendarDataError, require_known
from store import audit
from store.base import utcnow
from store.calendar import BranchTimezone, CalendarWeek

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WEEK: dict[str, Any] = {day: None if day in ("sat", "sun") else "open" for day in WEEKDAYS}


def week(session: Session, name: str) -> dict[str, Any]:
    """The calendar's weekly pattern (the default Monday to Friday unless overridden)."""
    row = session.get(CalendarWeek, name)
    return {**DEFAULT_WEEK, **(row.days if row else {})}


def set_week(session: Session, name: str, days: Mapping[str, Any], *, actor: str) -> dict:
    """Override the weekly pattern; each weekday null, "open" or [open, close] ("HH:MM")."""
    require_known(name)
    clean: dict[str, Any] = {}
    for day, value in days.items():
        if day not in WEEKDAYS:
            raise CalendarDataError(f"unknown weekday {day!r}; use {', '.join(WEEKDAYS)}")
        if value is not None and value != "open":
            clean[day] = list(check_hours(value))
        else:
            clean[day] = value
    values = {"days": clean}
    _save(session, CalendarWeek, "calendar", name, values, actor=actor, action="calendar.week_set")
    return {**DEFAULT_WEEK, **clean}


def check_hours(value: Iterable[str]) -> tuple[str, str]:
    """Validated ("HH:MM", "HH:MM") opening hours; "24:00" closes at midnight."""
    try:
        opens, closes = (str(v) for v in value)
        minutes = [int(t[:2]) * 60 + int(t[3:]) for t in (opens, closes) if len(t) == 5]
    except (TypeError, ValueError):
        raise CalendarDataError(f"hours must be two 'HH:MM' times, not {value!r}") from None
    if len(minutes) != 2 or not 0 <= minutes[0] < minutes[1] <= 24 * 60:
        raise CalendarDataError(f"hours must open before they close within a day: {value!r}")
    return opens, closes


def branch_timezone(session: Session, branch: str | None) -> str | None:
    row = session.get(BranchTimezone, branch) if branch else None
    return row.timezone if row else None


def set_branch_timezone(session: Session, branch: str, timezone: str, *, actor: str) -> None:
    """Record the zone a branch's SLA clocks count in (an IANA name)."""
    try:
        ZoneInfo(timezone)
    except (KeyError, ValueError, OSError):  # unknown, malformed, a folder of zones
        raise CalendarDataError(f"unknown time zone {timezone!r}") from None
    values = {"timezone": timezone}
    _save(
        session, BranchTimezone, "branch", branch, values, actor=actor,
        action="calendar.branch_timezone_set",
    )  # fmt: skip


def _save(
    session: Session,
    model: type[CalendarWeek | BranchTimezone],
    key: str,
    ident: str,
    values: dict[str, Any],
    *,
    actor: str,
    action: str,
) -> None:
    """Create or update the row `key=ident` with `values`, stamped and audited."""
    # The key column names the audit subject: a calendar's week, a branch's zone.
    row = session.get(model, ident)
    if row is None:
        row = model(**{key: ident}, **values, updated_by=actor)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_by, row.updated_at = actor, utcnow()
    audit.append(
        session,
        actor=actor,
        action=action,
        subject_type=key,
        subject_id=ident,
        detail=values,
    )
