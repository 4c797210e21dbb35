"""The message outbox and the record of every contact-policy decision.

Every external send is first a `message` row whose `idempotency_key` (workflow id + step +
customer) is unique: an activity retried after a crash finds its row instead of sending again,
and a send is never lost because the row commits before the channel is called. Each send-time
decision (sent, suppressed for lack of consent, deferred by quiet hours, ...) is a
`contact_decision` row. Frequency caps count `message` rows (sent or pending) per customer
over a window.

`customer_id` carries no foreign key here (nor in `work.py`): history must outlive the customer
row and ingest order is not guaranteed. Rows hold ids and template names, never contact details.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, BigIntId, str_enum, utcnow


class MessageStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    DEFERRED = "deferred"


class Decision(enum.StrEnum):
    SENT = "sent"
    SUPPRESSED = "suppressed"
    DEFERRED = "deferred"


_DEFERRED_ONLY = sa.text("status = 'deferred'")


class Message(Base):
    __tablename__ = "message"
    __table_args__ = (
        sa.Index(None, "customer_id", "created_at"),
        # A campaign run's passes over its deferred sends (a local-time birthday run defers
        # most of its day's greetings): partial, so they stay small however large the outbox.
        sa.Index("ix_message_deferred_key", "workflow_id", "idempotency_key",
                 postgresql_where=_DEFERRED_ONLY, sqlite_where=_DEFERRED_ONLY),
        sa.Index("ix_message_deferred_due", "workflow_id", "due_at",
                 postgresql_where=_DEFERRED_ONLY, sqlite_where=_DEFERRED_ONLY),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    workflow_id: Mapped[str] = mapped_column(sa.String(200))
    step: Mapped[str] = mapped_column(sa.String(100))
    customer_id: Mapped[str] = mapped_column(sa.String(32))
    channel: Mapped[str] = mapped_column(sa.String(16))
    template: Mapped[str] = mapped_column(sa.String(100))
    # Caps count marketing and service sends apart; rule-level caps count one rule's sends.
    category: Mapped[str] = mapped_column(
        sa.String(16), default="marketing", server_default="marketing"
    )
    ruleset: Mapped[str | None] = mapped_column(sa.String(100))
    rule: Mapped[str | None] = mapped_column(sa.String(100))
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    template_version: Mapped[str | None] = mapped_column(sa.String(64))
    # A hash of the rendered text: evidence of what was sent without keeping personal data.
    rendered_hash: Mapped[str | None] = mapped_column(sa.String(64))
    due_at: Mapped[datetime | None]  # a send deferred by quiet hours may go out from here
    status: Mapped[MessageStatus] = mapped_column(
        str_enum(MessageStatus, "status"), default=MessageStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class ContactDecision(Base):
    __tablename__ = "contact_decision"
    __table_args__ = (sa.Index(None, "customer_id", "decided_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    customer_id: Mapped[str] = mapped_column(sa.String(32))
    channel: Mapped[str] = mapped_column(sa.String(16))
    decision: Mapped[Decision] = mapped_column(str_enum(Decision, "decision"))
    # Why: "no_consent", "quiet_hours", "frequency_cap", "do_not_disturb", ...
    reason: Mapped[str | None] = mapped_column(sa.String(64))
    rule: Mapped[str] = mapped_column(sa.String(100))
    ruleset: Mapped[str] = mapped_column(sa.String(100))
    ruleset_version: Mapped[int]
    template: Mapped[str | None] = mapped_column(sa.String(100))
    workflow_id: Mapped[str] = mapped_column(sa.String(200))
    step: Mapped[str | None] = mapped_column(sa.String(100))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200))  # joins its message
    category: Mapped[str | None] = mapped_column(sa.String(16))
    plan_hash: Mapped[str | None] = mapped_column(sa.String(64))
    template_version: Mapped[str | None] = mapped_column(sa.String(64))
    detail: Mapped[str | None] = mapped_column(sa.String(200))  # e.g. the cap or the until time
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
