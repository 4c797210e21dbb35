"""The activity of the TicketSLA workflow: record one step in the database.

`ticket.record` writes what the workflow's queued steps changed (ticket row, clock mirror,
escalations, extension, audit entry), in order and in one transaction, through
`activities.tickets_rows`; it is idempotent by each record's `seq`, so Temporal's retries are
safe. Built once per worker as
`TicketActivities(session_factory, deliverer, settings)`; only the session factory is used
(escalation notices are in-app rows, not customer messages), the rest keeps the worker's
constructor convention.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities import tickets_rows
from store.session import session_scope
from workflows import ticket_sla_types as t


class TicketActivities:
    """Ticket activities bound to a database (and, by convention, a Deliverer and settings)."""

    def __init__(
        self, session_factory: sessionmaker[Session], deliverer: Any = None, settings: Any = None
    ) -> None:
        self.session_factory, self.settings = session_factory, settings

    def activities(self) -> list[Callable[..., Any]]:
        """The bound activity methods, to pass to `Worker(activities=...)`."""
        return [self.record]

    @activity.defn(name=t.RECORD_ACTIVITY)
    def record(self, batch: t.RecordBatch) -> int:
        """Write a ticket's queued SLA steps in order; how many the database did not have yet."""
        with session_scope(self.session_factory) as session:
            return sum(tickets_rows.apply(session, record) for record in batch.records)
