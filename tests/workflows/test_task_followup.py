"""The dormant-customer callback (retail_engagement's `dormant_callback` task step, as compiled)
on the time-skipping server: due in 3 business days on the CN calendar, escalated to the branch
manager exactly when overdue, withdrawn at once when the customer transacts again (before and
after the deadline), completed by its assignee.

The package's CN data ends with 2026's National Day and the test server's clock is today's
date, so the CN calendar is extended for the test's own week with two holidays and a make-up
Saturday (the table mechanism a database-held schedule will use); the real CN data is checked
in tests/calendars. Three business days from Monday 10:00 then end on Saturday 10:00, where
weekdays alone would say Thursday.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from temporalio.testing import ActivityEnvironment

import dsl
from activities.tasks import TaskActivities
from api.app import create_app
from calendars import BusinessCalendar, YearTable, get_calendar
from config.settings import Settings
from dsl.plan import TaskStep
from runtime.contracts import RuleRef, campaign_run_id, task_workflow_id
from services.users import create_user
from store.audit import AuditEntry
from store.session import session_scope
from store.user import Role
from store.work import Task
from tests.workflows.journey_support import (
    add_customer,
    journey_worker,
    keep_history,
    poll,
    route,
    rows,
    store_event,
)
from workflows.task_types import OpenTasksRequest, TaskResult, TaskState

pytestmark = pytest.mark.asyncio(loop_scope="session")
SH = ZoneInfo("Asia/Shanghai")
REPO = Path(__file__).resolve().parents[2]


@cache
def callback() -> tuple[RuleRef, TaskStep]:
    """The dormant callback's task step from the shipped rule file, and its rule reference."""
    plan = dsl.compile_source(
        (REPO / "rulesets/retail_engagement.rules").read_text(), "r.rules"
    ).plan
    step = next(c for c in plan.campaigns if c.name == "dormant_callback").actions[0]
    assert isinstance(step, TaskStep) and step.escalate_to and step.cancel_when
    rule = RuleRef(ruleset=plan.ruleset, version=1, plan_hash=plan.hash, rule="dormant_callback")
    return rule, step


async def monday_ten(env) -> datetime:
    """Skip the server clock to the next Monday 10:00 in Shanghai (a day or more away)."""
    now = (await env.get_current_time()).astimezone(SH)
    day = now.date() + timedelta(days=1)
    day += timedelta(days=(7 - day.weekday()) % 7)
    target = datetime.combine(day, datetime.min.time(), SH).replace(hour=10)
    await env.sleep(target - now)
    return await env.get_current_time()


def cn_for_week(monday: date) -> BusinessCalendar:
    """CN with Tuesday and Wednesday declared holidays and Saturday a make-up workday."""
    cn, off, on = (
        get_calendar("CN"),
        {monday + timedelta(1), monday + timedelta(2)},
        {monday + timedelta(5)},
    )
    years = {d.year for d in off | on}
    empty = YearTable()
    return cn.extended(
        {
            y: YearTable(
                cn.years.get(y, empty).holidays | {d for d in off if d.year == y},
                cn.years.get(y, empty).workdays | {d for d in on if d.year == y},
            )
            for y in years
        }
    )


async def open_callback(env, sf, task_queue, calendar, cid: str, now: datetime):
    """Open the callback for `cid` as a campaign page would; its follow-up handle and row id."""
    rule, step = callback()
    request = OpenTasksRequest(
        rule=rule,
        step=step,
        customer_ids=[cid],
        calendar="CN",
        timezone="Asia/Shanghai",
        root_run_id=campaign_run_id(rule.ruleset, rule.rule, now.isoformat()),
        now=now,
    )
    activity_env = ActivityEnvironment(client=env.client)
    activity_env.info = dataclasses.replace(activity_env.info, task_queue=task_queue)
    activities = TaskActivities(sf, None, None, calendars={"CN": calendar})
    [task_id] = (await activity_env.run(activities.open_tasks, request)).task_ids
    key = task_row(sf, task_id).idempotency_key
    handle = env.client.get_workflow_handle(task_workflow_id(key), result_type=TaskResult)
    return task_id, handle


def task_row(sf, task_id: int) -> Task:
    [(task,)] = rows(sf, sa.select(Task).where(Task.id == task_id))
    return task


def escalations(sf) -> list[tuple[str, str]]:
    query = sa.select(Task.assignee, Task.status).where(Task.kind == "escalation")
    return [tuple(r) for r in rows(sf, query)]


def dormant(sf, cid: str, now: datetime) -> None:
    add_customer(sf, cid, last_transaction_at=now - timedelta(days=120))


async def dormant_week(env, sf, cid: str) -> tuple[datetime, BusinessCalendar]:
    """A dormant `cid` as of the next Monday 10:00, and CN for that week (`cn_for_week`)."""
    monday = await monday_ten(env)
    dormant(sf, cid, monday)
    return monday, cn_for_week(monday.astimezone(SH).date())


async def state(handle) -> TaskState:
    return await handle.query("state", result_type=TaskState)


async def test_the_callback_escalates_exactly_when_overdue_on_the_cn_calendar(
    temporal_env, task_queue, session_factory, update_goldens
):
    env, sf = temporal_env, session_factory
    monday, calendar = await dormant_week(env, sf, "C000101")
    async with journey_worker(env.client, task_queue, sf, None, calendars={"CN": calendar}):
        task_id, handle = await open_callback(env, sf, task_queue, calendar, "C000101", monday)
        due = task_row(sf, task_id).due_at.astimezone(SH)
        assert (due.weekday(), due.hour, due.minute) == (5, 10, 0)  # Saturday, not Thursday
        assert due.date() - monday.astimezone(SH).date() == timedelta(days=5)
        assert task_row(sf, task_id).assignee == "sal"

        await env.sleep(due - await env.get_current_time() - timedelta(minutes=1))
        assert (await state(handle)).status == "open" and task_row(sf, task_id).status == "open"
        await env.sleep(timedelta(minutes=2))
        await poll(lambda: task_row(sf, task_id).status, lambda s: s == "escalated")
        assert escalations(sf) == [("branch-manager:B01", "open")]
        await poll(lambda: state(handle), lambda s: s.status == "escalated")

        await handle.signal("complete")  # the RM calls the customer after all
        assert (await handle.result()).status == "done"
        await keep_history(handle, "task_escalated_then_completed", update_goldens)
    assert task_row(sf, task_id).status == "done"
    assert escalations(sf) == [("branch-manager:B01", "done")]
    actions = rows(sf, sa.select(AuditEntry.action).where(AuditEntry.subject_id == str(task_id)))
    assert [a for (a,) in actions] == ["task.created", "task.escalated", "task.completed"]


async def test_a_new_transaction_withdraws_the_callback_at_once_before_its_deadline(
    temporal_env, task_queue, session_factory, update_goldens
):
    env, sf = temporal_env, session_factory
    monday, calendar = await dormant_week(env, sf, "C000102")
    async with journey_worker(env.client, task_queue, sf, None, calendars={"CN": calendar}):
        task_id, handle = await open_callback(env, sf, task_queue, calendar, "C000102", monday)
        await env.sleep(timedelta(days=1))
        now = await env.get_current_time()
        # A login is no transaction: not routed to the task. A transfer from last week (sent
        # late) reaches it, but `last_transaction_at within 1 day` does not hold for it.
        login = store_event(sf, "app.login", "C000102", now, channel="mobile")
        old = store_event(sf, "transfer.completed", "C000102", now - timedelta(days=6), amount=5)
        report = await route(env.client, sf, task_queue, login, old, now=now)
        assert (report.signalled, report.not_running) == (1, 0)
        await poll(lambda: state(handle), lambda s: s.checks == 1)
        assert task_row(sf, task_id).status == "open"

        fresh = store_event(sf, "card.transaction", "C000102", now, amount=88)
        assert (await route(env.client, sf, task_queue, fresh, now=now)).signalled == 1
        await poll(lambda: task_row(sf, task_id).status, lambda s: s == "withdrawn")
        assert await env.get_current_time() - now < timedelta(minutes=1)  # at once
        assert (await handle.result()).status == "withdrawn"
        await keep_history(handle, "task_withdrawn_before_due", update_goldens)
    assert escalations(sf) == []


async def test_a_new_transaction_withdraws_an_escalated_callback_and_its_escalation(
    temporal_env, task_queue, session_factory, update_goldens
):
    env, sf = temporal_env, session_factory
    monday, calendar = await dormant_week(env, sf, "C000103")
    async with journey_worker(env.client, task_queue, sf, None, calendars={"CN": calendar}):
        task_id, handle = await open_callback(env, sf, task_queue, calendar, "C000103", monday)
        await env.sleep(timedelta(days=6))
        await poll(lambda: task_row(sf, task_id).status, lambda s: s == "escalated")
        now = await env.get_current_time()
        paid = store_event(sf, "customer.transacted", "C000103", now)
        assert (await route(env.client, sf, task_queue, paid, now=now)).signalled == 1
        assert (await handle.result()).status == "withdrawn"
        await keep_history(handle, "task_withdrawn_after_escalation", update_goldens)
    assert task_row(sf, task_id).status == "withdrawn"
    assert escalations(sf) == [("branch-manager:B01", "withdrawn")]


async def test_the_assignee_completes_the_callback_through_the_api_and_its_clock_stops(
    temporal_env, task_queue, session_factory, migrated_sqlite_url, update_goldens
):
    env, sf = temporal_env, session_factory
    monday, calendar = await dormant_week(env, sf, "C000104")
    with session_scope(sf) as session:
        _, key = create_user(session, "sal", Role.SALES)
    settings = Settings(database={"url": migrated_sqlite_url}, temporal={"task_queue": task_queue})
    app = create_app(settings)
    app.state.temporal = SimpleNamespace(get=lambda: _ready(env.client))
    transport = httpx.ASGITransport(app=app)
    async with (
        journey_worker(env.client, task_queue, sf, None, calendars={"CN": calendar}),
        httpx.AsyncClient(transport=transport, base_url="http://api") as client,
    ):
        task_id, handle = await open_callback(env, sf, task_queue, calendar, "C000104", monday)
        headers = {"Authorization": f"Bearer {key}"}
        mine = await client.get("/v1/tasks", headers=headers)
        assert [t["id"] for t in mine.json()["items"]] == [task_id]
        done = await client.post(f"/v1/tasks/{task_id}/complete", headers=headers)
        assert done.status_code == 200, done.text
        assert (await handle.result()).status == "done"  # no deadline had to pass
        await keep_history(handle, "task_completed_by_signal", update_goldens)
    assert escalations(sf) == []


async def _ready(client):
    return client
