"""Relationship-manager tasks: `GET /v1/tasks` lists the caller's own tasks (callbacks, notices,
escalations of overdue tasks) and `POST /v1/tasks/{id}/complete` marks one done.

A user only ever sees and completes tasks assigned to them by name; no role reads another
person's list here. Completing commits the row (with its audit entry, the user as actor) and
then tells the task's follow-up workflow, so its deadline stops; when Temporal is disabled or
does not answer the task is done all the same, and the workflow finds it done when its
deadline comes (its decisions re-read the row).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from anyio import from_thread
from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict
from temporalio.service import RPCError

from activities import task_rows
from api.deps import SessionDep, temporal_client
from api.params import MAX_INT64, Limit, Offset, offset_page
from api.permissions import allow
from api.schemas import Page
from runtime.contracts import task_workflow_id
from services.actor import Actor
from services.errors import ConflictError, DomainError, NotFoundError
from store.base import utcnow
from store.work import Task
from workflows.task_types import COMPLETE_SIGNAL

log = logging.getLogger(__name__)
router = APIRouter(tags=["tasks"])
Worker = Annotated[Actor, allow("tasks.work")]
TaskId = Annotated[int, Path(ge=1, le=MAX_INT64)]


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    title: str
    assignee: str
    customer_id: str | None
    status: str
    due_at: datetime | None
    ruleset: str | None
    rule: str | None
    created_at: datetime
    completed_at: datetime | None


@router.get("/tasks", response_model=Page[TaskOut])
def list_tasks(
    session: SessionDep,
    actor: Worker,
    limit: Limit,
    offset: Offset = 0,
    status: Literal["open", "escalated", "overdue", "done", "withdrawn"] | None = None,
) -> Any:
    """The caller's tasks, soonest deadline first (tasks without one last)."""
    query = sa.select(Task).where(Task.assignee == actor.name)
    if status is not None:
        query = query.where(Task.status == status)
    query = query.order_by(Task.due_at.is_(None), Task.due_at, Task.id)
    items = list(session.scalars(query.limit(limit).offset(offset)))
    return offset_page(items, offset, limit)


@router.post("/tasks/{task_id}/complete", response_model=TaskOut)
def complete_task(task_id: TaskId, session: SessionDep, actor: Worker, request: Request) -> Any:
    """Mark one of the caller's tasks done; 409 when it was withdrawn or is already done."""
    task = task_rows.lock(session, task_id)
    if task is None or task.assignee != actor.name:
        raise NotFoundError(f"you have no task {task_id}")  # never say whose it is
    if not task_rows.finish(session, task, "done", actor.name, utcnow()):
        raise ConflictError(f"task {task_id} is {task.status}")
    session.commit()  # done, whatever Temporal says next
    if task.due_at is not None:
        _tell_workflow(request, task_workflow_id(task.idempotency_key))
    return task


def _tell_workflow(request: Request, workflow_id: str) -> None:
    temporal = getattr(request.app.state, "temporal", None)
    if temporal is None or not request.app.state.settings.temporal.enabled:
        return
    try:
        client = temporal_client(request)
        from_thread.run(client.get_workflow_handle(workflow_id).signal, COMPLETE_SIGNAL)
    except (RPCError, DomainError) as exc:
        log.warning("task workflow %s not told of completion: %s", workflow_id, exc)
