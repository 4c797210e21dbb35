"""Leads and the shared pool: the follow-up's mirror on `lead`, RM profiles, history, rotations.

`lead` gains the rule its LeadFollowUpWorkflow runs (ruleset, version, rule), a version number
bumped on every ownership or deadline change, the pool cycle and reassignment counters, and the
clock the workflow keeps (assigned, due, last contact, end of ownership, released, closed), so
lists show deadlines without asking Temporal. `rm_profile` holds each sales user's team,
region, manager and capacity; `lead_history` is the ownership ledger the pool rules read (one
row per workflow action, unique by its idempotency key); `lead_cursor` keeps round-robin turns.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

LEAD_COLUMNS = [
    sa.Column("ruleset", sa.String(100), nullable=True),
    sa.Column("ruleset_version", sa.Integer(), nullable=True),
    sa.Column("rule", sa.String(100), nullable=True),
    sa.Column("version", sa.Integer(), server_default="0", nullable=False),
    sa.Column("cycle", sa.Integer(), server_default="0", nullable=False),
    sa.Column("reassignments", sa.Integer(), server_default="0", nullable=False),
    sa.Column("assigned_at", UTC_DATETIME, nullable=True),
    sa.Column("due_kind", sa.String(16), nullable=True),
    sa.Column("due_at", UTC_DATETIME, nullable=True),
    sa.Column("last_contacted_at", UTC_DATETIME, nullable=True),
    sa.Column("ownership_ends_at", UTC_DATETIME, nullable=True),
    sa.Column("previous_owner", sa.String(64), nullable=True),
    sa.Column("released_at", UTC_DATETIME, nullable=True),
    sa.Column("closed_at", UTC_DATETIME, nullable=True),
]


def upgrade() -> None:
    with op.batch_alter_table("lead") as batch:
        for column in LEAD_COLUMNS:
            batch.add_column(column)
    op.create_index(op.f("ix_lead_released_at"), "lead", ["released_at"])

    op.create_table(
        "rm_profile",
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("region", sa.String(32), nullable=True),
        sa.Column("manager", sa.String(64), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("user_name", name=op.f("pk_rm_profile")),
    )
    op.create_index(op.f("ix_rm_profile_team"), "rm_profile", ["team"])
    op.create_index(op.f("ix_rm_profile_manager"), "rm_profile", ["manager"])

    op.create_table(
        "lead_history",
        sa.Column("id", BIGINT_ID, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("lead_id", sa.String(40), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_owner", sa.String(64), nullable=True),
        sa.Column("to_owner", sa.String(64), nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("occurred_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_lead_history_lead_id_lead"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_history")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_lead_history_idempotency_key")),
    )
    for columns in (
        ("lead_id", "occurred_at"),
        ("to_owner", "action", "occurred_at"),
        ("from_owner", "lead_id"),
    ):
        op.create_index(op.f(f"ix_lead_history_{'_'.join(columns)}"), "lead_history", columns)

    op.create_table(
        "lead_cursor",
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("partition", sa.String(64), nullable=False),
        sa.Column("last_owner", sa.String(64), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("team", "partition", name=op.f("pk_lead_cursor")),
    )


def downgrade() -> None:
    op.drop_table("lead_cursor")
    op.drop_table("lead_history")
    op.drop_table("rm_profile")
    op.drop_index(op.f("ix_lead_released_at"), table_name="lead")
    with op.batch_alter_table("lead") as batch:
        for column in reversed(LEAD_COLUMNS):
            batch.drop_column(column.name)
