"""Which SLA a new ticket runs under, in which time zone, on which calendar snapshot.

The first `sla` block (active plans by ruleset name, blocks in plan order) whose `applies to`
holds for the ticket record applies; the ticket is pinned to it for life. The time zone comes
from the rule's source: the ticket's branch (its own, else its customer's; `branch_timezone`),
the customer's own zone, or the rule's fixed zone, which is also the fallback. The calendar
snapshot the workflow computes with covers the year before the start to two years after it,
from the database where it holds a year, else from the `chinesecalendar` package
(`calendars.store.business_calendar`, the calendar task and lead deadlines use too). An edit of
the calendar reaches running tickets as a fresh snapshot (`tickets_temporal.refresh_calendar`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from calendars import store as calendar_store
from calendars import store_week
from dsl.plan_ops import Plan, SlaSpec
from dsl.pyeval import Predicate, compile_predicate
from runtime.contracts import RuleRef
from services.campaigns import active_plans
from store.customer import Customer
from workflows.ticket_sla_types import CalendarSnapshot, TicketFields

YEARS_AFTER = 2  # calendar years a snapshot carries after the start's
_predicates: dict[tuple[str, str], Predicate] = {}  # (plan hash, sla) -> compiled applies_to


@dataclass(frozen=True)
class Match:
    plan: Plan
    version: int
    sla: SlaSpec

    def rule(self) -> RuleRef:
        return RuleRef(
            ruleset=self.plan.ruleset,
            version=self.version,
            plan_hash=self.plan.hash,
            rule=self.sla.name,
            category="service",
        )


def match(session: Session, ticket: TicketFields, now: dt.datetime) -> Match | None:
    """The first SLA of the active plans that applies to `ticket`, or None."""
    for plan, version in active_plans(session):
        today = now.astimezone(ZoneInfo(plan.timezone)).date()
        for sla in plan.slas:
            key = (plan.hash, sla.name)
            if key not in _predicates:
                _predicates[key] = compile_predicate(sla.applies_to)
            if _predicates[key].bind(now, today)(ticket.record()):
                return Match(plan, version, sla)
    return None


def timezone_for(
    session: Session, sla: SlaSpec, branch: str | None, customer_id: str | None
) -> str:
    """The IANA zone the ticket's clocks count in (see the module docstring)."""
    customer = session.get(Customer, customer_id) if customer_id else None
    zone = None
    if sla.timezone_from == "branch":
        zone = store_week.branch_timezone(session, branch or (customer and customer.branch))
    elif sla.timezone_from == "customer" and customer is not None:
        zone = customer.timezone
    return zone or sla.timezone


def snapshot(session: Session, sla: SlaSpec, timezone: str, start: dt.datetime) -> CalendarSnapshot:
    """The calendar snapshot for a ticket of `sla` whose clocks start at `start`."""
    name = sla.calendar
    if sla.hours.around_the_clock or not (sla.hours.start and sla.hours.end):
        day_hours = ("00:00", "24:00")
    else:
        day_hours = (sla.hours.start, sla.hours.end)
    pattern = store_week.week(session, name)
    week: list[tuple[str, str] | None] = []
    for day in store_week.WEEKDAYS:
        value = pattern.get(day)
        if value is None:
            week.append(None)
        elif value == "open" or sla.hours.around_the_clock:
            week.append(day_hours)
        else:
            week.append((value[0], value[1]))
    holidays, workdays, years = [], [], []
    tables = calendar_store.business_calendar(session, name).years
    local_year = start.astimezone(ZoneInfo(timezone)).year
    for year in range(local_year - 1, local_year + YEARS_AFTER + 1):
        table = tables.get(year)
        if table is not None:  # else the weekly pattern alone: the workflow is told which
            years.append(year)
            holidays += sorted(table.holidays)
            workdays += sorted(table.workdays)
    return CalendarSnapshot(
        name=name,
        timezone=timezone,
        week=week,
        day_hours=day_hours,
        holidays=holidays,
        workdays=workdays,
        years=years,
    )
