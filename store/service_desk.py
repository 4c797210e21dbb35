"""The service desk's SLA records: each ticket's clock mirror, its escalations and extensions.

`ticket_clock` mirrors the TicketSLA workflow's clocks (one row per ticket and clock, rewritten
by every step) so queues filter and sort by due time in SQL ("breaching within an hour") without
asking Temporal; the live answer for one ticket still comes from the workflow. An escalation is
an external effect like a message: `ticket_escalation.idempotency_key` is unique, so a retried
activity never records (or notifies) twice. `ticket_extension` is the regulatory record of each
deadline extension and who approved it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, BigIntId, utcnow


class TicketClock(Base):
    __tablename__ = "ticket_clock"
    __table_args__ = (
        sa.UniqueConstraint("ticket_id", "clock"),
        sa.Index(None, "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    ticket_id: Mapped[str] = mapped_column(sa.ForeignKey("ticket.id", ondelete="CASCADE"))
    clock: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(16))  # pending running paused met stopped
    due_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    remaining_seconds: Mapped[float | None] = mapped_column(sa.Float)  # as of updated_at
    cycle: Mapped[int] = mapped_column(default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketEscalation(Base):
    """One rung of an SLA's escalation ladder that fired (or a manual escalation)."""

    __tablename__ = "ticket_escalation"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    ticket_id: Mapped[str] = mapped_column(
        sa.ForeignKey("ticket.id", ondelete="CASCADE"), index=True
    )
    workflow_id: Mapped[str] = mapped_column(sa.String(200))
    clock: Mapped[str] = mapped_column(sa.String(40))
    trigger: Mapped[str] = mapped_column(sa.String(16))  # at_percent on_breach after_breach ...
    cycle: Mapped[int]
    action: Mapped[str] = mapped_column(sa.String(16))  # notify reassign raise_priority
    recipient: Mapped[str | None] = mapped_column(sa.String(100), index=True)  # the inbox
    template: Mapped[str | None] = mapped_column(sa.String(100))
    priority_from: Mapped[str | None] = mapped_column(sa.String(16))
    priority_to: Mapped[str | None] = mapped_column(sa.String(16))
    outcome: Mapped[str] = mapped_column(sa.String(32))
    actor: Mapped[str] = mapped_column(sa.String(64))
    ruleset: Mapped[str | None] = mapped_column(sa.String(100))
    ruleset_version: Mapped[int | None]
    rule: Mapped[str | None] = mapped_column(sa.String(100))
    escalated_at: Mapped[datetime]


class TicketExtension(Base):
    """A regulatory deadline extension: which one, the new deadline, and its approver."""

    __tablename__ = "ticket_extension"
    __table_args__ = (sa.UniqueConstraint("ticket_id", "number"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    ticket_id: Mapped[str] = mapped_column(sa.ForeignKey("ticket.id", ondelete="CASCADE"))
    number: Mapped[int]
    mode: Mapped[str] = mapped_column(sa.String(4))  # to | by
    previous_due_at: Mapped[datetime]
    due_at: Mapped[datetime]
    approver: Mapped[str] = mapped_column(sa.String(64))
    requested_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
