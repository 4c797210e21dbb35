"""Partial indexes for a campaign run's deferred sends.

A local-time campaign (birthdays on each customer's clock) defers most of a day's greetings
until each zone's 09:00, and the run passes over its deferred rows once per slot: by workflow id
in key order, and for the earliest due time. Both read only `status = 'deferred'` rows, so the
indexes are partial and stay small however many messages the outbox has sent.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFERRED_ONLY = sa.text("status = 'deferred'")
INDEXES = {
    "ix_message_deferred_key": ["workflow_id", "idempotency_key"],
    "ix_message_deferred_due": ["workflow_id", "due_at"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "message", columns,
                        postgresql_where=DEFERRED_ONLY, sqlite_where=DEFERRED_ONLY)  # fmt: skip


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="message")
