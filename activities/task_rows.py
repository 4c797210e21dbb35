"""The `task` rows behind relationship-manager tasks, notices and escalations, and their audit.

A task is an external effect like a message: its row is inserted under the unique
`idempotency_key(root_run_id, step, customer)`, so a retried activity finds it instead of
creating a second one. Status moves open -> escalated | overdue -> done | withdrawn, each move
in one transaction with its audit entry, and only from a live status, so a late signal never
reopens a finished task. Escalating inserts a second row for the escalation recipient (key
`<task key>|escalation`, kind `escalation`): the manager sees it in their task list, and it is
closed with the task. Recipients resolve to user names where the customer row names one
(`customer.relationship_manager`), else to an address the console can route: `role:<name>`,
`team:<name>`, `branch-manager:<branch code>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dsl.plan import Recipient
from runtime.contracts import RuleRef, idempotency_key
from store import audit
from store.customer import Customer
from store.work import Task
from workflows.task_types import NotifyRequest, OpenTasksRequest

LIVE = ("open", "escalated", "overdue")
UNASSIGNED = "unassigned"  # a customer without a relationship manager: the console's pool


def customers(session: Session, ids: Iterable[str]) -> dict[str, tuple[str | None, str | None]]:
    """customer id -> (relationship manager, branch) for the ids that exist."""
    rows = session.execute(
        sa.select(Customer.id, Customer.relationship_manager, Customer.branch).where(
            Customer.id.in_(list(ids))
        )
    )
    return {row.id: (row.relationship_manager, row.branch) for row in rows}


def resolve(recipient: Recipient, manager: str | None, branch: str | None) -> str:
    """Who a recipient is for one customer (see the module docstring)."""
    if recipient.kind == "field" and recipient.value == "customer.relationship_manager":
        return manager or UNASSIGNED
    if recipient.kind == "field" and recipient.value == "customer.branch.manager":
        return f"branch-manager:{branch or 'unknown'}"
    if recipient.kind in ("role", "team"):
        return f"{recipient.kind}:{recipient.value}"
    return recipient.value  # a named user


def insert(session: Session, rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """Insert task rows, skipping keys already stored; the keys really inserted."""
    if not rows:
        return set()
    table = Task.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).on_conflict_do_nothing(index_elements=["idempotency_key"])
    return set(session.scalars(stmt.returning(table.c.idempotency_key), list(rows)))


def row(
    rule: RuleRef,
    *,
    key: str,
    kind: str,
    title: str,
    assignee: str,
    customer_id: str,
    due_at: datetime | None,
    workflow_id: str,
) -> dict[str, Any]:
    """The column values of one new task row."""
    return {
        "idempotency_key": key,
        "kind": kind,
        "title": title[:200],
        "assignee": assignee,
        "customer_id": customer_id,
        "status": "open",
        "due_at": due_at,
        "workflow_id": workflow_id,
        "rule": rule.rule,
        "ruleset": rule.ruleset,
        "ruleset_version": rule.version,
    }


def open_rows(
    session: Session,
    batch: OpenTasksRequest | NotifyRequest,
    *,
    kind: str,
    title: str,
    recipient: Recipient,
    due_at: datetime | None,
    action: str,
    actor: str,
) -> list[Task]:
    """One row per existing customer of the batch, keyed by its step; new ones audited."""
    rule, root_run_id = batch.rule, batch.root_run_id
    people = customers(session, batch.customer_ids)
    keys = {cid: idempotency_key(root_run_id, batch.step.step, cid) for cid in people}
    new = insert(
        session,
        [
            row(
                rule,
                key=keys[cid],
                kind=kind,
                title=title,
                customer_id=cid,
                due_at=due_at,
                assignee=resolve(recipient, *people[cid]),
                workflow_id=root_run_id,
            )
            for cid in people
        ],
    )
    found = session.scalars(
        sa.select(Task).where(Task.idempotency_key.in_(keys.values())).order_by(Task.id)
    ).all()
    for task in found:
        if task.idempotency_key in new:
            audit_task(session, task, action, actor, assignee=task.assignee, due_at=task.due_at)
    return list(found)


def audit_task(session: Session, task: Task, action: str, actor: str, **detail: Any) -> None:
    """Append the audit entry of one task action (subject `task/<id>`)."""
    audit.append(
        session,
        actor=actor,
        action=action,
        subject_type="task",
        subject_id=str(task.id),
        ruleset=task.ruleset,
        ruleset_version=task.ruleset_version,
        rule=task.rule,
        detail={"kind": task.kind, "customer_id": task.customer_id, **detail},
    )


def lock(session: Session, task_id: int) -> Task | None:
    """The task row, locked for this transaction (a decision re-reads it under the lock)."""
    return session.get(Task, task_id, with_for_update=True)


def finish(
    session: Session, task: Task, status: str, actor: str, at: datetime, **detail: Any
) -> bool:
    """Move a live task (and its escalation row) to done or withdrawn; False if not live."""
    if task.status not in LIVE:
        return False
    task.status, task.completed_at = status, at
    escalation = session.scalar(
        sa.select(Task).where(Task.idempotency_key == escalation_key(task)).with_for_update()
    )
    if escalation is not None and escalation.status in LIVE:
        escalation.status, escalation.completed_at = status, at
    audit_task(
        session, task, f"task.{'completed' if status == 'done' else status}", actor, **detail
    )
    return True


def escalation_key(task: Task) -> str:
    return f"{task.idempotency_key}|escalation"
