"""Delivery: what the contact gate records, and the index inbound opt-outs look customers up by.

`message` gains the send's category (frequency caps count marketing and service apart), the
rule that sent it (rule-level caps), `due_at` (when a send deferred by quiet hours may go), the
locale, template version and a hash of the rendered text (evidence of what was sent without
keeping personal data). `contact_decision` gains the step, idempotency key, template version, plan
hash, category and a short detail, so "why did this customer get, or not get, this message"
is one query. `customer.phone` is indexed: an inbound "TD" arrives with a phone number only.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)

MESSAGE_COLUMNS = [
    sa.Column("category", sa.String(16), server_default="marketing", nullable=False),
    sa.Column("ruleset", sa.String(100), nullable=True),
    sa.Column("rule", sa.String(100), nullable=True),
    sa.Column("locale", sa.String(16), nullable=True),
    sa.Column("template_version", sa.String(64), nullable=True),
    sa.Column("rendered_hash", sa.String(64), nullable=True),
    sa.Column("due_at", UTC_DATETIME, nullable=True),
]
DECISION_COLUMNS = [
    sa.Column("step", sa.String(100), nullable=True),
    sa.Column("idempotency_key", sa.String(200), nullable=True),
    sa.Column("category", sa.String(16), nullable=True),
    sa.Column("plan_hash", sa.String(64), nullable=True),
    sa.Column("template_version", sa.String(64), nullable=True),
    sa.Column("detail", sa.String(200), nullable=True),
]


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        for column in MESSAGE_COLUMNS:
            batch.add_column(column)
    with op.batch_alter_table("contact_decision") as batch:
        for column in DECISION_COLUMNS:
            batch.add_column(column)
    op.create_index(op.f("ix_customer_phone"), "customer", ["phone"])


def downgrade() -> None:
    op.drop_index(op.f("ix_customer_phone"), table_name="customer")
    with op.batch_alter_table("contact_decision") as batch:
        for column in reversed(DECISION_COLUMNS):
            batch.drop_column(column.name)
    with op.batch_alter_table("message") as batch:
        for column in reversed(MESSAGE_COLUMNS):
            batch.drop_column(column.name)
