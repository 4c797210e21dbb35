"""The typed activity registry of relationship-manager tasks: opening tasks and notices, and the
follow-up workflow's escalation, withdrawal and completion.

Journeys and campaigns open tasks through `OPEN_TASKS` (one call per step and batch of
customers); each task then gets a `TaskFollowUpWorkflow` of its own. A task moves open ->
escalated | overdue -> done | withdrawn; the row in the `task` table is the truth the console
shows, the workflow is its clock. Payloads carry task and customer ids only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from dsl.plan import NotifyStep, TaskStep
from runtime.contracts import RuleRef
from workflows.journey_types import ActivityRef

TaskStatus = Literal["open", "escalated", "overdue", "done", "withdrawn"]
LIVE = ("open", "escalated", "overdue")  # statuses a follow-up workflow still watches
COMPLETE_SIGNAL = "complete"
TASK_KIND_NOTICE = "notice"  # a `notify` action: an in-app note with no deadline or workflow


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OpenTasksRequest(_Payload):
    """Open one task per customer for a `task` step; idempotent per (root run, step, customer)."""

    rule: RuleRef
    step: TaskStep
    root_run_id: str
    customer_ids: list[str]
    calendar: str
    timezone: str
    now: datetime  # the deadline counts from here, on the business calendar


class OpenTasksResult(_Payload):
    task_ids: list[int]


class NotifyRequest(_Payload):
    rule: RuleRef
    step: NotifyStep
    root_run_id: str
    customer_ids: list[str]
    now: datetime


class TaskCheck(_Payload):
    """One follow-up decision about a task, taken at the workflow's `now`."""

    rule: RuleRef
    task_id: int
    step: TaskStep
    customer_id: str
    now: datetime
    timezone: str
    event_id: int | None = None  # the event that prompted a cancel check


class TaskState(_Payload):
    status: TaskStatus
    due_at: datetime | None
    checks: int = 0  # cancel conditions evaluated so far (one per event received)


class TaskResult(_Payload):
    status: TaskStatus


OPEN_TASKS = ActivityRef("task.open", OpenTasksRequest, OpenTasksResult)
NOTIFY = ActivityRef("task.notify", NotifyRequest, OpenTasksResult)
ESCALATE = ActivityRef("task.escalate", TaskCheck, str)
WITHDRAW_IF = ActivityRef("task.withdraw_if", TaskCheck, str)
COMPLETE = ActivityRef("task.complete", TaskCheck, str)
