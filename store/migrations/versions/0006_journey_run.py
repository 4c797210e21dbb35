"""The journey run index.

New table `journey_run`: one row per journey workflow id the event router signalled-with-start
(ruleset, journey, customer id, the latest start time), so events a journey only listens to are
signalled to customers who have a run instead of to everyone (`store.journey`). Runs started
before this revision are indexed from the audit log (each `journey.entered` entry names its
workflow id), so journeys in flight keep getting their exit and wait events; those that have
ended since cost one NOT_FOUND each, which drops their row. Downgrading drops the index only.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUDIT = sa.table(
    "audit_entry",
    *(
        sa.column(name, sa.String)
        for name in ("action", "subject_type", "subject_id", "ruleset", "rule")
    ),
    sa.column("occurred_at"),  # copied as stored, never converted
)


def upgrade() -> None:
    op.create_table(
        "journey_run",
        sa.Column("workflow_id", sa.String(255), nullable=False),
        sa.Column("ruleset", sa.String(100), nullable=False),
        sa.Column("journey", sa.String(100), nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", name=op.f("pk_journey_run")),
    )
    op.create_index(op.f("ix_journey_run_customer_id"), "journey_run", ["customer_id"])
    _index_entered_journeys()


def _index_entered_journeys() -> None:
    # One INSERT ... SELECT, so the audit log never passes through Python. The id is
    # `journey:<ruleset>:<journey>:<customer>` (runtime.contracts.journey_id): the customer id
    # is what follows the prefix its own ruleset and journey columns spell.
    prefix = sa.literal("journey:") + AUDIT.c.ruleset + ":" + AUDIT.c.rule + ":"
    entered = (
        sa.select(
            AUDIT.c.subject_id,
            AUDIT.c.ruleset,
            AUDIT.c.rule,
            sa.func.substr(AUDIT.c.subject_id, sa.func.length(prefix) + 1),
            sa.func.max(AUDIT.c.occurred_at),
        )
        .where(
            AUDIT.c.subject_type == "journey",
            AUDIT.c.action == "journey.entered",
            AUDIT.c.ruleset.is_not(None),
            AUDIT.c.rule.is_not(None),
        )
        .group_by(AUDIT.c.subject_id, AUDIT.c.ruleset, AUDIT.c.rule)
    )
    columns = ["workflow_id", "ruleset", "journey", "customer_id", "started_at"]
    run = sa.table("journey_run", *(sa.column(name) for name in columns))
    op.execute(run.insert().from_select(columns, entered))


def downgrade() -> None:
    op.drop_index(op.f("ix_journey_run_customer_id"), table_name="journey_run")
    op.drop_table("journey_run")
