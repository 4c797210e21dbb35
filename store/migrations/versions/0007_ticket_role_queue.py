"""An index for the ticket role queue.

`GET /v1/tickets?assigned_role=` lists the tickets an escalation reassigned to a role (team
lead, branch manager); the index keeps that queue a range read however many tickets the desk
has closed, like the team queue's `ix_ticket_team_status`.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_ticket_assigned_role_status"), "ticket", ["assigned_role", "status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_assigned_role_status"), table_name="ticket")
