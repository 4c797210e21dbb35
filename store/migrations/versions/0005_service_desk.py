"""Service desk SLAs and calendars as data.

`ticket` gains the SLA it runs under (rule, version, plan hash, workflow id), its branch, the
time zone its clocks count in, the role queue escalations hand it to, the regulatory deadline
with its extension count, and `sla_seq`, which orders the workflow's writes. New tables:
`ticket_clock` (the workflow's clocks mirrored for queues), `ticket_escalation` (each fired
escalation, unique by idempotency key), `ticket_extension` (deadline extensions and their
approvers), `calendar_year` / `calendar_day` (official holidays and make-up workdays per
calendar and year), `calendar_week` (weekly pattern overrides), `branch_timezone`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

TICKET_COLUMNS = [
    sa.Column("branch", sa.String(32), nullable=True),
    sa.Column("assigned_role", sa.String(64), nullable=True),
    sa.Column("created_by", sa.String(64), nullable=True),
    sa.Column("sla", sa.String(100), nullable=True),
    sa.Column("ruleset", sa.String(100), nullable=True),
    sa.Column("ruleset_version", sa.Integer(), nullable=True),
    sa.Column("plan_hash", sa.String(64), nullable=True),
    sa.Column("workflow_id", sa.String(200), nullable=True),
    sa.Column("timezone", sa.String(64), nullable=True),
    sa.Column("deadline_at", UTC_DATETIME, nullable=True),
    sa.Column("extensions", sa.Integer(), server_default="0", nullable=False),
    sa.Column("sla_seq", sa.Integer(), server_default="0", nullable=False),
]
NEW_TABLES = [
    "ticket_extension",
    "ticket_escalation",
    "ticket_clock",
    "calendar_day",
    "calendar_year",
    "calendar_week",
    "branch_timezone",
]


def _ticket_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["ticket_id"], ["ticket.id"], name=op.f(f"fk_{table}_ticket_id_ticket"), ondelete="CASCADE"
    )


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        for column in TICKET_COLUMNS:
            batch.add_column(column)
    op.create_index(op.f("ix_ticket_team_status"), "ticket", ["team", "status"])
    op.create_table(
        "ticket_clock",
        sa.Column("id", BIGINT_ID, nullable=False),
        sa.Column("ticket_id", sa.String(40), nullable=False),
        sa.Column("clock", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=True),
        sa.Column("breached_at", UTC_DATETIME, nullable=True),
        sa.Column("remaining_seconds", sa.Float(), nullable=True),
        sa.Column("cycle", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        _ticket_fk("ticket_clock"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_clock")),
        sa.UniqueConstraint("ticket_id", "clock", name=op.f("uq_ticket_clock_ticket_id_clock")),
    )
    op.create_index(op.f("ix_ticket_clock_status_due_at"), "ticket_clock", ["status", "due_at"])
    op.create_table(
        "ticket_escalation",
        sa.Column("id", BIGINT_ID, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("ticket_id", sa.String(40), nullable=False),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("clock", sa.String(40), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(100), nullable=True),
        sa.Column("template", sa.String(100), nullable=True),
        sa.Column("priority_from", sa.String(16), nullable=True),
        sa.Column("priority_to", sa.String(16), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("ruleset", sa.String(100), nullable=True),
        sa.Column("ruleset_version", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(100), nullable=True),
        sa.Column("escalated_at", UTC_DATETIME, nullable=False),
        _ticket_fk("ticket_escalation"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_escalation")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ticket_escalation_idempotency_key")),
    )
    op.create_index(op.f("ix_ticket_escalation_ticket_id"), "ticket_escalation", ["ticket_id"])
    op.create_index(op.f("ix_ticket_escalation_recipient"), "ticket_escalation", ["recipient"])
    op.create_table(
        "ticket_extension",
        sa.Column("id", BIGINT_ID, nullable=False),
        sa.Column("ticket_id", sa.String(40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(4), nullable=False),
        sa.Column("previous_due_at", UTC_DATETIME, nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("approver", sa.String(64), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        _ticket_fk("ticket_extension"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_extension")),
        sa.UniqueConstraint(
            "ticket_id", "number", name=op.f("uq_ticket_extension_ticket_id_number")
        ),
    )
    op.create_table(
        "calendar_year",
        sa.Column("id", BIGINT_ID, nullable=False),
        sa.Column("calendar", sa.String(32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_year")),
        sa.UniqueConstraint("calendar", "year", name=op.f("uq_calendar_year_calendar_year")),
    )
    op.create_table(
        "calendar_day",
        sa.Column("id", BIGINT_ID, nullable=False),
        sa.Column("calendar", sa.String(32), nullable=False),
        sa.Column("falls_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_day")),
        sa.UniqueConstraint("calendar", "falls_on", name=op.f("uq_calendar_day_calendar_falls_on")),
    )
    op.create_table(
        "calendar_week",
        sa.Column("calendar", sa.String(32), nullable=False),
        sa.Column("days", JSON_DOCUMENT, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("calendar", name=op.f("pk_calendar_week")),
    )
    op.create_table(
        "branch_timezone",
        sa.Column("branch", sa.String(32), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("branch", name=op.f("pk_branch_timezone")),
    )


def downgrade() -> None:
    for table in NEW_TABLES:
        op.drop_table(table)
    op.drop_index(op.f("ix_ticket_team_status"), table_name="ticket")
    with op.batch_alter_table("ticket") as batch:
        for column in reversed(TICKET_COLUMNS):
            batch.drop_column(column.name)
