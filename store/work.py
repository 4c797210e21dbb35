"""Work items people act on: service tickets, sales leads and relationship-manager tasks.

Their clocks (SLA targets, first-contact deadlines, escalations) run in Temporal workflows keyed
by these ids; the rows hold what the console lists and filters, and the fields rules read
(`dsl.schema.TICKET_FIELDS`, `LEAD_FIELDS`). Ticket and lead ids are strings chosen by the
service that creates them, so workflow ids can be business keys (`ticket-<id>`). A task is an
external effect of a workflow like a message, so it carries a unique idempotency key.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, BigIntId, utcnow


class Ticket(Base):
    __tablename__ = "ticket"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    category: Mapped[str] = mapped_column(sa.String(32))
    priority: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(32), index=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    team: Mapped[str] = mapped_column(sa.String(64))
    assignee: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    named_employee: Mapped[str | None] = mapped_column(sa.String(64))
    # Regulatory complaints have statutory reporting deadlines.
    regulatory: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    subject: Mapped[str] = mapped_column(sa.String(200))  # may contain personal data
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    reported_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The SLA: the rule its TicketSLAWorkflow (`ticket:<id>`) is pinned to, the time zone its
    # clocks count in, and a mirror of that workflow's state for queues (the workflow is the
    # clock; `sla_seq` orders the mirror's writes). Escalations assign to a role's queue.
    branch: Mapped[str | None] = mapped_column(sa.String(32))
    assigned_role: Mapped[str | None] = mapped_column(sa.String(64))
    created_by: Mapped[str | None] = mapped_column(sa.String(64))
    sla: Mapped[str | None] = mapped_column(sa.String(100))
    ruleset: Mapped[str | None] = mapped_column(sa.String(100))
    ruleset_version: Mapped[int | None]
    plan_hash: Mapped[str | None] = mapped_column(sa.String(64))
    workflow_id: Mapped[str | None] = mapped_column(sa.String(200))
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    deadline_at: Mapped[datetime | None]  # the regulatory deadline, after any extension
    extensions: Mapped[int] = mapped_column(default=0, server_default="0")
    sla_seq: Mapped[int] = mapped_column(default=0, server_default="0")

    __table_args__ = (
        sa.Index(None, "team", "status"),
        sa.Index(None, "assigned_role", "status"),  # the role queue (migration 0007)
    )


class Lead(Base):
    __tablename__ = "lead"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))  # prospect name: personal data
    source: Mapped[str] = mapped_column(sa.String(32))
    kind: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(32), index=True)
    region: Mapped[str] = mapped_column(sa.String(32))
    product: Mapped[str | None] = mapped_column(sa.String(64))
    expected_value: Mapped[Decimal]  # money: exact NUMERIC(20, 2)
    team: Mapped[str | None] = mapped_column(sa.String(64))
    owner: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    customer_level: Mapped[int] = mapped_column(default=1, server_default="1")
    contract_end_on: Mapped[date | None] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The follow-up: the lead rule its LeadFollowUpWorkflow (`lead:<id>`) runs, pinned at
    # creation, and a mirror of that workflow's clock for lists (the workflow is the clock).
    ruleset: Mapped[str | None] = mapped_column(sa.String(100))
    ruleset_version: Mapped[int | None]
    rule: Mapped[str | None] = mapped_column(sa.String(100))
    # Bumped by every ownership or deadline change: a timer set for an older version is stale.
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    cycle: Mapped[int] = mapped_column(default=0, server_default="0")  # returns to the pool
    reassignments: Mapped[int] = mapped_column(default=0, server_default="0")  # in this cycle
    assigned_at: Mapped[datetime | None]
    due_kind: Mapped[str | None] = mapped_column(sa.String(16))  # first_contact | follow_up
    due_at: Mapped[datetime | None]
    last_contacted_at: Mapped[datetime | None]
    ownership_ends_at: Mapped[datetime | None]  # the pool rules' keep window or release date
    previous_owner: Mapped[str | None] = mapped_column(sa.String(64))
    released_at: Mapped[datetime | None] = mapped_column(index=True)  # into the pool
    closed_at: Mapped[datetime | None]


class Task(Base):
    """A relationship manager's to-do (a callback, a follow-up) created by a workflow."""

    __tablename__ = "task"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    title: Mapped[str] = mapped_column(sa.String(200))
    assignee: Mapped[str] = mapped_column(sa.String(64), index=True)
    customer_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    lead_id: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="open", server_default="open")
    due_at: Mapped[datetime | None]
    workflow_id: Mapped[str] = mapped_column(sa.String(200))
    rule: Mapped[str | None] = mapped_column(sa.String(100))
    ruleset: Mapped[str | None] = mapped_column(sa.String(100))
    ruleset_version: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
