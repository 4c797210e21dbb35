"""Sales: relationship managers' team profiles, the ledger of lead ownership, and rotations.

`rm_profile` says which team and region a sales user works in, who their manager is (the
`manager` a lead ladder escalates to) and, optionally, their own capacity (overriding a rule's
`capacity`). `lead_history` is the append-only ledger of what happened to each lead (assigned,
reassigned, claimed, released, returned to the pool, contacted, closed): the pool rules read it
(claims per day, the previous owner's cooldown) and reassignment reads it to skip earlier
owners. Each row carries the unique idempotency key of the workflow action that wrote it, so a
retried activity finds its own row instead of acting twice. `lead_cursor` is the persisted
round-robin position of each team (per partition, e.g. per region).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, BigIntId, utcnow


class RmProfile(Base):
    __tablename__ = "rm_profile"

    # The sales user's `app_user.name`; not a foreign key: profiles sync from HR and may
    # arrive before the person has an API user.
    user_name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    team: Mapped[str] = mapped_column(sa.String(64), index=True)
    region: Mapped[str | None] = mapped_column(sa.String(32))
    manager: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    capacity: Mapped[int | None]  # open leads this member may hold; None: the rule's capacity
    # Members leave teams without losing their history: inactive ones get no new leads.
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LeadHistory(Base):
    __tablename__ = "lead_history"
    __table_args__ = (
        sa.Index(None, "lead_id", "occurred_at"),
        sa.Index(None, "to_owner", "action", "occurred_at"),  # claims per member per day
        sa.Index(None, "from_owner", "lead_id"),  # a previous owner's cooldown
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    lead_id: Mapped[str] = mapped_column(sa.ForeignKey("lead.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(sa.String(16))
    from_owner: Mapped[str | None] = mapped_column(sa.String(64))
    to_owner: Mapped[str | None] = mapped_column(sa.String(64))
    actor: Mapped[str] = mapped_column(sa.String(64))
    reason: Mapped[str | None] = mapped_column(sa.String(64))
    cycle: Mapped[int]
    # The workflow's time of the action (a deadline it met exactly), not the row's write time.
    occurred_at: Mapped[datetime]


class LeadCursor(Base):
    __tablename__ = "lead_cursor"

    team: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    partition: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # "" when none
    last_owner: Mapped[str] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
