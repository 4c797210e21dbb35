"""Ticket queues: filters on the ticket row and on the SLA clock mirror, soonest due first.

"Breaching soon" is a SQL question on `ticket_clock` (a running clock due within the window),
answered without asking Temporal; the mirror is exact between steps because a due time only
moves when the workflow takes a step, and every step rewrites the mirror.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from store.service_desk import TicketClock, TicketEscalation, TicketExtension
from store.work import Ticket


def list_tickets(
    session: Session,
    *,
    now: dt.datetime,
    team: str | None = None,
    assignee: str | None = None,
    assigned_role: str | None = None,
    escalated_to: str | None = None,
    status: str | None = None,
    breaching_within: dt.timedelta | None = None,
    breached: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Ticket]:
    """A queue page: filters on the row and on the clock mirror, soonest due first."""
    clock = TicketClock
    due = (
        sa.select(sa.func.min(clock.due_at))
        .where(clock.ticket_id == Ticket.id, clock.status == "running")
        .scalar_subquery()
    )
    query = sa.select(Ticket)
    for column, value in (
        (Ticket.team, team),
        (Ticket.assignee, assignee),
        (Ticket.assigned_role, assigned_role),
        (Ticket.status, status),
    ):
        if value is not None:
            query = query.where(column == value)
    if escalated_to is not None:  # a person, `role:<name>` or `team:<name>` it notified
        query = query.where(
            sa.exists().where(
                TicketEscalation.ticket_id == Ticket.id,
                TicketEscalation.recipient == escalated_to,
            )
        )
    if breaching_within is not None:
        query = query.where(
            sa.exists().where(
                clock.ticket_id == Ticket.id,
                clock.status == "running",
                clock.due_at > now,
                clock.due_at <= now + breaching_within,
            )
        )
    if breached is not None:
        late = sa.exists().where(
            clock.ticket_id == Ticket.id,
            sa.or_(
                clock.breached_at <= now, sa.and_(clock.status == "running", clock.due_at <= now)
            ),
        )
        query = query.where(late if breached else ~late)
    query = query.order_by(due.is_(None), due, Ticket.opened_at, Ticket.id)
    return list(session.scalars(query.limit(limit).offset(offset)))


def records(session: Session, ids: list[str]) -> dict[str, dict[str, list[Any]]]:
    """Clock mirror, escalations and extensions of the given tickets, by ticket id."""
    found: dict[str, dict[str, list[Any]]] = {
        i: {"clocks": [], "escalations": [], "extensions": []} for i in ids
    }
    for model, key, order in (
        (TicketClock, "clocks", TicketClock.id),
        (TicketEscalation, "escalations", TicketEscalation.id),
        (TicketExtension, "extensions", TicketExtension.number),
    ):
        for row in session.scalars(
            sa.select(model).where(model.ticket_id.in_(ids)).order_by(order)
        ):
            found[row.ticket_id][key].append(row)
    return found


def wait_recorded(
    factory: sessionmaker[Session], ticket_id: str, seq: int, timeout_s: float = 5.0
) -> bool:
    """Wait until the workflow has written step `seq` of the ticket (read your own writes).

    The workflow answers an action before its record lands (milliseconds later, in order);
    False when the deadline passes first, e.g. while the database is down.
    """
    deadline = time.monotonic() + timeout_s
    query = sa.select(Ticket.sla_seq).where(Ticket.id == ticket_id)
    while True:
        with factory() as session:
            if (session.scalar(query) or 0) >= seq:
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
