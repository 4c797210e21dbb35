"""An operator's calendar edit reaches every deadline, not only tickets' SLA clocks.

`calendars.store.business_calendar` is the package's tables with the database's years over
them; the journey and task activities and the lead clock compute with it, so a weekday declared
a holiday in the database moves an RM callback's due date, a journey's wait and a lead's
first-contact deadline. The package has no table for 2027 (weekends only), which makes the
edited year's effect plain: Monday 1 March 2027 10:00 in Shanghai plus three business days is
Thursday, and Friday once Tuesday is a holiday. Calendars a worker is built with (tests inject
them) still win over the database. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.journey import JourneyActivities
from activities.tasks import TaskActivities
from calendars import BusinessCalendar, get_calendar, store
from dsl.plan import DurationSpec, Recipient, TaskStep
from runtime.contracts import RuleRef
from services import leads, leads_ops
from services.leads_clock import Timing, calendar_for
from services.leads_ops import Act
from store.session import make_engine, make_session_factory, session_scope
from store.work import Task
from tests.workflows.journey_support import add_customer
from tests.workflows.lead_support import INTAKE, activate, sme
from workflows.journey_types import DeadlineRequest
from workflows.task_types import OpenTasksRequest

SH = ZoneInfo("Asia/Shanghai")
MONDAY = dt.datetime(2027, 3, 1, 10, tzinfo=SH)
TUESDAY = dt.date(2027, 3, 2)
THREE_DAYS = DurationSpec(amount=3, unit="day", business=True)


@pytest.fixture
def session_factory(migrated_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(migrated_url)
    yield make_session_factory(engine)
    engine.dispose()


def tuesday_off(factory: sessionmaker[Session]) -> None:
    """Operations declare Tuesday 2 March 2027 a holiday (the whole 2027 table, as the API)."""
    with session_scope(factory) as session:
        table = store.YearData({TUESDAY: "闭行演练"})
        store.set_year(session, "CN", 2027, table, actor="ops.li")


class StartRecorder:
    """Stands in for the activity's Temporal client: records the follow-ups it would start."""

    def __init__(self) -> None:
        self.started: list[str] = []

    async def start_workflow(self, workflow: str, arg: Any, **options: Any) -> None:
        self.started.append(options["id"])


def open_callback(factory: sessionmaker[Session], cid: str) -> dt.datetime:
    """Open a callback task due in three business days from MONDAY; its stored due date."""
    sal = Recipient(kind="user", value="sal")
    step = TaskStep(step="callback", task="callback", assignee=sal, due=THREE_DAYS)
    rule = RuleRef(ruleset="reach", version=1, plan_hash="h", rule="callback")
    request = OpenTasksRequest(
        rule=rule,
        step=step,
        root_run_id=f"run:{cid}",
        customer_ids=[cid],
        calendar="CN",
        timezone="Asia/Shanghai",
        now=MONDAY,
    )
    client = StartRecorder()
    activities = TaskActivities(factory)
    env = ActivityEnvironment(client=client)  # type: ignore[arg-type]
    result = asyncio.run(env.run(activities.open_tasks, request))
    assert len(result.task_ids) == len(client.started) == 1
    with session_scope(factory) as session:
        task = session.get(Task, result.task_ids[0])
        assert task is not None and task.due_at is not None
        return task.due_at.astimezone(SH)


def journey_deadline(
    factory: sessionmaker[Session], name: str = "CN", **calendars: BusinessCalendar
) -> dt.datetime:
    """The journey's deadline activity for three business days from MONDAY."""
    request = DeadlineRequest(
        start=MONDAY, duration=THREE_DAYS, calendar=name, timezone="Asia/Shanghai"
    )
    activities = JourneyActivities(factory, None, calendars=calendars)
    return ActivityEnvironment().run(activities.deadline, request).astimezone(SH)


def test_the_database_years_lie_over_the_package_tables(session_factory) -> None:
    package = get_calendar("CN")
    with session_scope(session_factory) as session:
        assert store.business_calendar(session, "CN").years == package.years
    tuesday_off(session_factory)
    with session_scope(session_factory) as session:
        store.set_year(session, "CN", 2028, store.YearData(), actor="ops.li")
    with session_scope(session_factory) as session:
        found = store.business_calendar(session, "CN")
        with pytest.raises(store.CalendarDataError):
            store.business_calendar(session, "MARS")
    assert found.years[2026] == package.years[2026]  # a year the database does not hold
    assert found.years[2027].holidays == {TUESDAY} and not found.is_business_day(TUESDAY)
    assert found.covers(2028) and found.is_business_day(dt.date(2028, 1, 3))  # known, and free


def test_a_task_due_date_skips_a_holiday_set_in_the_database(session_factory) -> None:
    add_customer(session_factory, "C000001")
    add_customer(session_factory, "C000002")
    assert open_callback(session_factory, "C000001") == MONDAY.replace(day=4)  # Thursday
    tuesday_off(session_factory)
    assert open_callback(session_factory, "C000002") == MONDAY.replace(day=5)  # Friday


def test_a_journey_deadline_skips_it_and_an_injected_calendar_still_wins(session_factory) -> None:
    assert journey_deadline(session_factory) == MONDAY.replace(day=4)
    tuesday_off(session_factory)
    assert journey_deadline(session_factory) == MONDAY.replace(day=5)
    assert journey_deadline(session_factory, CN=get_calendar("CN")) == MONDAY.replace(day=4)
    with pytest.raises(ApplicationError) as refused:
        journey_deadline(session_factory, "MARS")
    assert (refused.value.type, refused.value.non_retryable) == ("UnknownCalendar", True)


def test_a_lead_first_contact_deadline_skips_it(session_factory) -> None:
    """A branch-referred SME lead is due two business days after its owner gets it: Wednesday,
    or Thursday once Tuesday is a holiday."""
    activate(session_factory)
    due = {}
    for lead_id in ("L-BEFORE", "L-AFTER"):
        if lead_id == "L-AFTER":
            tuesday_off(session_factory)
        with session_scope(session_factory) as session:
            lead, rule, _ = leads.create_lead(session, INTAKE, sme(lead_id), MONDAY)
            assert rule.spec.first_contact == DurationSpec(amount=2, unit="day", business=True)
            timing = Timing(rule.spec, calendar_for(rule.spec, session), rule.timezone)
            act = Act(lead_id, "system", MONDAY)
            leads_ops.give(session, lead, "rm.zhao", "assigned", act, timing)
            assert lead.due_at is not None
            due[lead_id] = lead.due_at.astimezone(SH)
    assert due == {"L-BEFORE": MONDAY.replace(day=3), "L-AFTER": MONDAY.replace(day=4)}
