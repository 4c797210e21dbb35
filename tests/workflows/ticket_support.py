"""What the ticket SLA tests share: a test SLA compiled from rule text, calendar snapshots (the
official CN table, or the same holiday shape moved after the present), ticket rows, workflow
inputs, and a worker composed like the production worker's ticket part.

The time-skipping server's clock starts at the real present and only moves forward, so a live
workflow test cannot run on 2026-09-30 once that date has passed. `mirrored_calendar` places the
shape of the 2026 National Day week (a Wednesday before seven days off, then a Thursday, Friday
and a make-up Saturday) after the present; the exact 2026 dates run through the workflow as a
retroactive start (`reported_at`) and through the pure engine.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

import dsl
from activities.tickets import TicketActivities
from dsl.plan_ops import Plan, SlaSpec
from runtime.contracts import RuleRef
from store.session import session_scope
from store.work import Ticket
from workflows.ticket_sla import TicketSLAWorkflow
from workflows.ticket_sla_types import CalendarSnapshot, TicketFields, TicketSLAInput

TZ = "Asia/Shanghai"
SH = ZoneInfo(TZ)
NINE_TO_SIX = ("09:00", "18:00")
WEEK = [NINE_TO_SIX] * 5 + [None, None]
RULES = """\
ruleset desk_test
  timezone "Asia/Shanghai"
  calendar CN

sla complaint
  applies to ticket where ticket.category == "complaint"
  hours business 09:00 to 18:00
  start from ticket.reported_at
  target normal: first_response 2 business hours, resolution 5 business days
  target urgent: first_response 1 business hours, resolution 1 business days
  regulatory deadline 15 days extendable to 30 days then by 30 days
  never assign ticket.named_employee
  pause while ticket.status == "waiting_on_customer"
  resume when ticket.status == "in_progress"
  stop when ticket.status in ["resolved", "closed"]
  reset when ticket.status == "reopened"
  cancel when ticket.status == "withdrawn"
  escalate
    at 50% of first_response: notify ticket.assignee
    on breach of first_response: reassign to role team_lead
    on breach of resolution: raise priority to urgent
    2 hours after breach of resolution: notify role branch_manager "sla_breach"
"""


@cache
def plan() -> Plan:
    return dsl.compile_source(RULES, "desk_test.rules").plan


def sla() -> SlaSpec:
    return plan().slas[0]


def rule() -> RuleRef:
    return RuleRef(
        ruleset=plan().ruleset,
        version=1,
        plan_hash=plan().hash,
        rule="complaint",
        category="service",
    )


def at(*args: int) -> dt.datetime:
    """A Shanghai wall-clock time as an aware UTC datetime."""
    return dt.datetime(*args, tzinfo=SH).astimezone(dt.UTC)


def cn_calendar(*years: int) -> CalendarSnapshot:
    """The official CN table of `years` (from the package), Monday to Friday 09:00-18:00."""
    return CalendarSnapshot(
        name="CN",
        timezone=TZ,
        week=WEEK,
        day_hours=NINE_TO_SIX,
        years=list(years),
        holidays=sorted(d for d in chinese_calendar.holidays if d.year in years),
        workdays=sorted(d for d in chinese_calendar.workdays if d.year in years),
    )


def next_wednesday(now: dt.datetime, min_days: int = 2) -> dt.date:
    """The first Wednesday at least `min_days` after `now`'s Shanghai date."""
    day = now.astimezone(SH).date() + dt.timedelta(days=min_days)
    return day + dt.timedelta(days=(2 - day.weekday()) % 7)


def mirrored_calendar(wednesday: dt.date) -> CalendarSnapshot:
    """The 2026 National Day shape after `wednesday`: Thu-Wed off, the Saturday after worked."""
    holidays = [wednesday + dt.timedelta(days=n) for n in range(1, 8)]
    workday = wednesday + dt.timedelta(days=10)  # the Saturday, like 2026-10-10
    return CalendarSnapshot(
        name="CN",
        timezone=TZ,
        week=WEEK,
        day_hours=NINE_TO_SIX,
        holidays=holidays,
        workdays=[workday],
        years=sorted({wednesday.year, workday.year}),
    )


def fields(ticket_id: str, opened_at: dt.datetime, **overrides) -> TicketFields:
    values = {
        "id": ticket_id,
        "category": "complaint",
        "priority": "normal",
        "status": "new",
        "channel": "phone",
        "team": "desk",
        "opened_at": opened_at,
        **overrides,
    }
    return TicketFields(**values)


def sla_input(ticket: TicketFields, calendar: CalendarSnapshot, **overrides) -> TicketSLAInput:
    return TicketSLAInput(rule=rule(), sla=sla(), ticket=ticket, calendar=calendar, **overrides)


def insert_ticket(factory: sessionmaker[Session], ticket: TicketFields) -> None:
    """The ticket row the workflow's activity records into."""
    with session_scope(factory) as session:
        session.add(
            Ticket(
                **ticket.model_dump(),
                subject="test",
                sla="complaint",
                ruleset=plan().ruleset,
                ruleset_version=1,
                plan_hash=plan().hash,
                workflow_id=f"ticket:{ticket.id}",
                timezone=TZ,
            )
        )


def ticket_worker(
    client: Client, task_queue: str, factory: sessionmaker[Session], threads: int = 8
) -> Worker:
    """A worker for TicketSLAWorkflow and its activity (use as `async with`)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[TicketSLAWorkflow],
        activities=TicketActivities(factory).activities(),
        activity_executor=ThreadPoolExecutor(threads),
        max_concurrent_activities=threads,
    )
