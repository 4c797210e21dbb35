"""The database side of a TicketSLA step: the ticket row, its clock mirror, escalations,
extensions and the audit entry, written in one transaction.

The workflow is the SLA's truth and the only writer of SLA state; each record carries a `seq`
that grows by one per step, and a record whose `seq` the ticket row already has is ignored, so
a retried activity (or one overtaken by a later step) changes nothing and audits nothing. Each
escalation is inserted under its unique idempotency key (`ticket:<id>|<cycle:clock:run:rung>`),
the backstop for the same guarantee. A person an escalation notifies gets a `ticket_notice`
task (their `GET /v1/tasks`), keyed by the escalation. Tickets no SLA applies to are written by
the same functions from `services.tickets`, without a workflow.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from temporalio.exceptions import ApplicationError

from store import audit
from store.service_desk import TicketClock, TicketEscalation, TicketExtension
from store.work import Task, Ticket
from workflows.ticket_sla_types import ClockState, EscalationRecord, TicketRecord

ASSIGNEE_MAX = Task.__table__.c.assignee.type.length  # a person's name fits; longer: a queue


def lock(session: Session, ticket_id: str) -> Ticket:
    """The ticket row, locked for this transaction; non-retryable error when it is missing."""
    ticket = session.get(Ticket, ticket_id, with_for_update=True)
    if ticket is None:
        raise ApplicationError(
            f"ticket {ticket_id} not found", type="TicketNotFound", non_retryable=True
        )
    return ticket


def apply(session: Session, record: TicketRecord) -> bool:
    """Write one step; False when the ticket already has it (a retry or a stale record)."""
    ticket = lock(session, record.ticket_id)
    if ticket.sla_seq >= record.seq:
        return False
    state = record.state
    ticket.status, ticket.priority, ticket.team = state.status, state.priority, state.team
    ticket.assignee, ticket.assigned_role = state.assignee, state.assigned_role
    ticket.first_response_at, ticket.resolved_at = record.first_response_at, record.resolved_at
    if state.deadline is not None:
        ticket.deadline_at = state.deadline.due_at
        ticket.extensions = len(state.deadline.extensions)
    ticket.sla_seq = record.seq
    mirror(session, ticket.id, state.clocks, record)
    inserted = escalations(session, ticket, record)
    notices(session, ticket, record, inserted)
    if record.extension is not None:
        ext = record.extension
        session.add(
            TicketExtension(
                ticket_id=ticket.id,
                number=ext.number,
                mode=ext.mode,
                previous_due_at=ext.previous_due_at,
                due_at=ext.due_at,
                approver=ext.approver,
                requested_by=ext.requested_by,
            )
        )
    detail: dict[str, Any] = {
        "seq": record.seq,
        "sla": state.sla,
        "paused": state.paused,
        "priority": state.priority,
        "assignee": state.assignee,
        "assigned_role": state.assigned_role,
        **record.detail,
    }
    if inserted:
        detail["escalations"] = [_summary(e) for e in inserted]
    if record.extension is not None:
        detail["extension"] = record.extension.model_dump(mode="json")
    audit.append(
        session,
        actor=record.actor,
        action=record.action,
        subject_type="ticket",
        subject_id=ticket.id,
        ruleset=record.rule.ruleset,
        ruleset_version=record.rule.version,
        rule=record.rule.rule,
        detail=detail,
    )
    return True


def mirror(session: Session, ticket_id: str, clocks: list[ClockState], record: TicketRecord):
    """Rewrite the ticket's clock rows from the workflow's state (queues read these)."""
    rows = {
        row.clock: row
        for row in session.scalars(sa.select(TicketClock).where(TicketClock.ticket_id == ticket_id))
    }
    for clock in clocks:
        row = rows.get(clock.name)
        if row is None:
            row = TicketClock(ticket_id=ticket_id, clock=clock.name)
            session.add(row)
        row.status, row.due_at, row.breached_at = clock.status, clock.due_at, clock.breached_at
        row.remaining_seconds, row.cycle, row.updated_at = (
            clock.remaining_seconds,
            clock.cycle,
            record.at,
        )


def escalations(session: Session, ticket: Ticket, record: TicketRecord) -> list[EscalationRecord]:
    """Insert the step's escalations, skipping keys already stored; the ones really inserted."""
    if not record.escalations:
        return []
    rows = {
        f"ticket:{ticket.id}|{e.key}": dict(
            idempotency_key=f"ticket:{ticket.id}|{e.key}",
            ticket_id=ticket.id,
            workflow_id=record.workflow_id,
            clock=e.clock,
            trigger=e.trigger,
            cycle=e.cycle,
            action=e.action,
            recipient=e.recipient,
            template=e.template,
            priority_from=e.priority_from,
            priority_to=e.priority_to,
            outcome=e.outcome,
            actor=record.actor,
            ruleset=record.rule.ruleset,
            ruleset_version=record.rule.version,
            rule=record.rule.rule,
            escalated_at=e.at,
        )
        for e in record.escalations
    }
    table = TicketEscalation.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).on_conflict_do_nothing(index_elements=["idempotency_key"])
    keys = set(session.scalars(stmt.returning(table.c.idempotency_key), list(rows.values())))
    return [e for e in record.escalations if f"ticket:{ticket.id}|{e.key}" in keys]


def notices(
    session: Session, ticket: Ticket, record: TicketRecord, inserted: list[EscalationRecord]
) -> None:
    """A task (`GET /v1/tasks`) for each person an escalation just notified."""
    for e in inserted:
        to = e.recipient
        # A role, team or team manager (`kind:name`) is a queue, not a person: the escalation
        # row and the ticket queue (`GET /v1/tickets?escalated_to=`) show it the ticket.
        if e.action != "notify" or not to or ":" in to or len(to) > ASSIGNEE_MAX:
            continue
        session.add(
            Task(
                idempotency_key=f"ticket:{ticket.id}|{e.key}|notice",
                kind="ticket_notice",
                title=f"ticket {ticket.id}: {_NOTICE[e.trigger]} ({e.clock or 'manual'})",
                assignee=to,
                customer_id=ticket.customer_id,
                status="open",
                workflow_id=record.workflow_id,
                rule=record.rule.rule,
                ruleset=record.rule.ruleset,
                ruleset_version=record.rule.version,
                created_at=e.at,
            )
        )


_NOTICE = {
    "at_percent": "SLA warning",
    "on_breach": "SLA breached",
    "after_breach": "SLA still breached",
    "deadline": "regulatory deadline missed",
    "manual": "escalated",
}


def _summary(e: EscalationRecord) -> dict[str, Any]:
    return {
        "key": e.key,
        "clock": e.clock,
        "trigger": e.trigger,
        "action": e.action,
        "recipient": e.recipient,
        "outcome": e.outcome,
        "priority": e.priority_to if e.action == "raise_priority" else None,
    }
