"""At most one active version per ruleset, enforced by the database.

A partial unique index (PostgreSQL and SQLite both support `WHERE`): the registry retires the
previous active version and flushes before activating the next, so activation and rollback
never trip it, while two concurrent activations cannot both win.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    op.create_index(
        "uq_ruleset_version_one_active",
        "ruleset_version",
        ["ruleset_id"],
        unique=True,
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_ruleset_version_one_active", table_name="ruleset_version")
