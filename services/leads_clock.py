"""A lead's clock: deadlines, the overdue ladder's times and the ownership window, from its row.

Timing (also in docs/decisions/0005-leads-and-the-pool.md):
- The first-contact deadline counts from the moment the current owner got the lead (assignment,
  reassignment or claim); a contact sets the next follow-up deadline `follow_up every` after
  it, until the rule's `until` condition holds.
- When a deadline passes without contact, the overdue ladder's `after D` steps fire D after
  the missed deadline (D on the rule's calendar: business days skip weekends and holidays).
  A missed *first contact* with an `otherwise` action runs that action at the deadline instead
  of the ladder.
- The ownership window (pool rules) ends at the earlier of `keep level L for D` after the owner
  got the lead and `release D after lead.<date>` (from local midnight of that date); a release
  time already past when the owner got the lead does not apply to that ownership, or a claimed
  lead would bounce straight back to the pool.
Durations are calendar time unless business (`BusinessCalendar.add`), in the plan's time zone,
on the rule's calendar as in force (`calendar_for`: the database's years over the package's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from calendars import BusinessCalendar
from calendars import store as calendar_store
from dsl.plan import DurationSpec
from dsl.plan_ops import LeadSpec
from runtime.contracts import LadderAt, LeadState
from services.leads_rules import lead_record
from store.work import Lead

OPEN = ("new", "contacted")  # statuses of a lead someone still works
CLOSED = ("won", "lost", "invalid")


@dataclass(frozen=True)
class Timing:
    """A lead rule's clock: its spec, its calendar and the plan's time zone."""

    spec: LeadSpec
    cal: BusinessCalendar
    tz: str

    def add(self, start: dt.datetime, duration: DurationSpec) -> dt.datetime:
        """`start` plus `duration` on the rule's calendar, in the plan's time zone."""
        return self.cal.add(start, duration, tz=self.tz)


def calendar_for(
    spec: LeadSpec, session: Session, known: Mapping[str, BusinessCalendar] | None = None
) -> BusinessCalendar:
    """The rule's calendar: an injected one of that name, else the one in force in the
    database (operations' edits over the package's tables)."""
    if found := (known or {}).get(spec.calendar):
        return found
    return calendar_store.business_calendar(session, spec.calendar)


def ladder(
    spec: LeadSpec, kind: str | None, due_at: dt.datetime | None, cal: BusinessCalendar, tz: str
) -> list[LadderAt]:
    """When each step fires if the deadline `due_at` (of `kind`) is missed."""
    if due_at is None:
        return []
    if kind == "first_contact" and spec.first_contact_otherwise is not None:
        return [LadderAt(at=due_at, step=-1)]
    return [
        LadderAt(at=cal.add(due_at, step.after, tz=tz), step=index)
        for index, step in enumerate(spec.overdue)
    ]


def ownership_end(
    spec: LeadSpec, lead: Lead, start: dt.datetime, cal: BusinessCalendar, tz: str
) -> dt.datetime | None:
    """When an ownership that began at `start` ends by the pool rules; None: it does not."""
    ends = []
    keep = spec.pool.keep_by_level.get(lead.customer_level)
    if keep is not None:
        ends.append(cal.add(start, keep, tz=tz))
    record = lead_record(lead)
    for field, delay in spec.pool.release_after:
        day = record.get(field)
        if not isinstance(day, dt.date):
            continue
        midnight = dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(tz))
        release = cal.add(midnight, delay, tz=tz)
        if release > start:
            ends.append(release)
    return min(ends, default=None)


def stage_of(lead: Lead) -> str:
    if lead.status in CLOSED:
        return "closed"
    return "owned" if lead.owner else "pool"


def state_of(lead: Lead, timing: Timing) -> LeadState:
    """The state the workflow keeps, computed from the row (ids and times only)."""
    stage = stage_of(lead)
    owned = stage == "owned"
    return LeadState(
        lead_id=lead.id,
        stage=stage,  # type: ignore[arg-type]
        status=lead.status,
        owner=lead.owner,
        version=lead.version,
        cycle=lead.cycle,
        reassignments=lead.reassignments,
        assigned_at=lead.assigned_at,
        due_kind=lead.due_kind if owned else None,  # type: ignore[arg-type]
        due_at=lead.due_at if owned else None,
        ladder=ladder(timing.spec, lead.due_kind, lead.due_at, timing.cal, timing.tz)
        if owned
        else [],
        ownership_ends_at=lead.ownership_ends_at if owned else None,
        previous_owner=lead.previous_owner,
        released_at=lead.released_at,
    )
