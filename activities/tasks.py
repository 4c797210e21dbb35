"""The activities of relationship-manager tasks: open tasks and notices, escalate, withdraw,
complete. Registered under the names in `workflows.task_types`.

`open_tasks` (journeys and campaigns call it with a step and a batch of customer ids) inserts
one row per customer with its deadline from the business calendar, then starts each task's
`TaskFollowUpWorkflow` (id `task:<row id>`, never reused) through the activity's own client, so
it is an async activity doing its database work in a thread. The follow-up activities decide
under a row lock at the workflow's time and audit what they did. Built once per worker as
`TaskActivities(session_factory, deliverer, settings)`; the deliverer is not used (tasks and
notices are in-app) but keeps the worker's constructor convention.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from activities import task_rows as rows
from activities.journey import SYSTEM_ACTOR, pick_calendar
from activities.journey_records import customer_record, evaluate, event_record
from calendars import BusinessCalendar
from runtime.contracts import TaskInput, task_workflow_id
from store.event import Event
from store.session import session_scope
from store.work import Task
from workflows import task_types as tt

STARTS_AT_ONCE = 20  # concurrent workflow starts of one batch


class TaskActivities:
    """Task activities bound to a database (and, by convention, a Deliverer and settings)."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        deliverer: Any = None,
        settings: Any = None,
        *,
        calendars: Mapping[str, BusinessCalendar] | None = None,
    ) -> None:
        self.session_factory, self.settings = session_factory, settings
        self.calendars = dict(calendars or {})

    def activities(self) -> list[Callable[..., Any]]:
        """The bound activity methods, to pass to `Worker(activities=...)`."""
        return [self.open_tasks, self.notify, self.escalate, self.withdraw_if, self.complete]

    @activity.defn(name=tt.OPEN_TASKS.name)
    async def open_tasks(self, request: tt.OpenTasksRequest) -> tt.OpenTasksResult:
        """One task per customer (idempotent) and its follow-up workflow."""
        opened = await asyncio.to_thread(self._insert_tasks, request)
        client, queue = activity.client(), activity.info().task_queue
        gate = asyncio.Semaphore(STARTS_AT_ONCE)

        async def start(task_input: TaskInput, key: str) -> None:
            async with gate:
                # Already started: a retry of this activity, or the task's clock already ran out.
                with contextlib.suppress(WorkflowAlreadyStartedError):
                    await client.start_workflow(
                        "TaskFollowUpWorkflow",
                        task_input,
                        task_queue=queue,
                        id=task_workflow_id(key),
                        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    )

        await asyncio.gather(*(start(t, key) for t, key in opened if t.status in tt.LIVE))
        return tt.OpenTasksResult(task_ids=[t.task_id for t, _ in opened])

    def _insert_tasks(self, request: tt.OpenTasksRequest) -> list[tuple[TaskInput, str]]:
        step = request.step
        with session_scope(self.session_factory) as session:
            # Read once per page of customers: every task of the page has the same deadline.
            calendar = pick_calendar(session, self.calendars, request.calendar)
            due = calendar.add(request.now, step.due, tz=request.timezone)
            found = rows.open_rows(
                session,
                request,
                kind=step.task,
                title=step.note or step.task,
                recipient=step.assignee,
                due_at=due,
                action="task.created",
                actor=SYSTEM_ACTOR,
            )
            return [(_task_input(request, t), t.idempotency_key) for t in found]

    @activity.defn(name=tt.NOTIFY.name)
    def notify(self, request: tt.NotifyRequest) -> tt.OpenTasksResult:
        """An in-app notice per customer for the step's recipient (no deadline, no workflow)."""
        step = request.step
        with session_scope(self.session_factory) as session:
            found = rows.open_rows(
                session,
                request,
                kind=tt.TASK_KIND_NOTICE,
                title=step.template or request.rule.rule,
                recipient=step.recipient,
                due_at=None,
                action="task.notice",
                actor=SYSTEM_ACTOR,
            )
            return tt.OpenTasksResult(task_ids=[t.id for t in found])

    @activity.defn(name=tt.ESCALATE.name)
    def escalate(self, check: tt.TaskCheck) -> str:
        """The deadline passed: escalate a still-open task (or withdraw it, if cancelled)."""
        with session_scope(self.session_factory) as session:
            task = self._task(session, check.task_id)
            if task.status != "open":
                return task.status
            if self._cancelled(session, check):
                rows.finish(session, task, "withdrawn", SYSTEM_ACTOR, check.now, at_deadline=True)
                return task.status
            if check.step.escalate_to is None:
                task.status = "overdue"
                rows.audit_task(session, task, "task.overdue", SYSTEM_ACTOR, due_at=task.due_at)
                return task.status
            people = rows.customers(session, [check.customer_id])
            to = rows.resolve(check.step.escalate_to, *people.get(check.customer_id, (None, None)))
            rows.insert(
                session,
                [
                    rows.row(
                        check.rule,
                        key=rows.escalation_key(task),
                        kind="escalation",
                        title=f"overdue {task.kind}: {task.title}",
                        assignee=to,
                        customer_id=check.customer_id,
                        due_at=None,
                        workflow_id=task_workflow_id(task.idempotency_key),
                    )
                ],
            )
            task.status = "escalated"
            rows.audit_task(
                session,
                task,
                "task.escalated",
                SYSTEM_ACTOR,
                to=to,
                assignee=task.assignee,
                due_at=task.due_at,
            )
            return task.status

    @activity.defn(name=tt.WITHDRAW_IF.name)
    def withdraw_if(self, check: tt.TaskCheck) -> str:
        """Withdraw a live task when its `cancel when` condition holds now; its status after."""
        with session_scope(self.session_factory) as session:
            task = self._task(session, check.task_id)
            if task.status in rows.LIVE and self._cancelled(session, check):
                rows.finish(
                    session, task, "withdrawn", SYSTEM_ACTOR, check.now, event_id=check.event_id
                )
            return task.status

    @activity.defn(name=tt.COMPLETE.name)
    def complete(self, check: tt.TaskCheck) -> str:
        """Mark the task done (a no-op when the tasks API already did)."""
        with session_scope(self.session_factory) as session:
            task = self._task(session, check.task_id)
            rows.finish(session, task, "done", SYSTEM_ACTOR, check.now)
            return task.status

    def _cancelled(self, session: Session, check: tt.TaskCheck) -> bool:
        if check.step.cancel_when is None:
            return False
        record = customer_record(session, check.customer_id, check.now)
        if record is None:
            return False
        event = session.get(Event, check.event_id) if check.event_id is not None else None
        if event is not None:
            record |= event_record(event)
        [holds] = evaluate([check.step.cancel_when], record, now=check.now, timezone=check.timezone)
        return holds

    @staticmethod
    def _task(session: Session, task_id: int) -> Task:
        task = rows.lock(session, task_id)
        if task is None:
            raise ApplicationError(
                f"task {task_id} not found", type="TaskNotFound", non_retryable=True
            )
        return task


def _task_input(request: tt.OpenTasksRequest, task: Task) -> TaskInput:
    return TaskInput(
        rule=request.rule,
        task=request.step,
        task_id=task.id,
        customer_id=task.customer_id or "",
        calendar=request.calendar,
        timezone=request.timezone,
        due_at=task.due_at,
        status=task.status,
    )
