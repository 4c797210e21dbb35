"""The ruleset registry: every ruleset and every version of its rule text and compiled plan.

A version moves draft -> in_review -> approved | rejected -> active -> retired. Once submitted
its `source`, `plan` and `plan_hash` never change (the registry service enforces that; the
audit log records each transition). `plan` is the compiled JSON IR workflows execute, and
`plan_hash` is its content hash, which running workflows pin.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.base import Base, JsonDocument, str_enum, utcnow


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    ACTIVE = "active"
    RETIRED = "retired"


class Ruleset(Base):
    __tablename__ = "ruleset"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[RulesetVersion]] = relationship(
        back_populates="ruleset", lazy="raise", order_by="RulesetVersion.version"
    )


class RulesetVersion(Base):
    __tablename__ = "ruleset_version"
    __table_args__ = (
        sa.UniqueConstraint("ruleset_id", "version"),
        # At most one active version per ruleset (migration 0002).
        sa.Index(
            "uq_ruleset_version_one_active",
            "ruleset_id",
            unique=True,
            postgresql_where=sa.text("status = 'active'"),
            sqlite_where=sa.text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ruleset_id: Mapped[int] = mapped_column(sa.ForeignKey("ruleset.id"))
    version: Mapped[int]
    status: Mapped[VersionStatus] = mapped_column(
        str_enum(VersionStatus, "status"), default=VersionStatus.DRAFT, index=True
    )
    source: Mapped[str] = mapped_column(sa.Text)
    # A draft that does not compile yet has no plan.
    plan: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    plan_hash: Mapped[str | None] = mapped_column(sa.String(64))
    author: Mapped[str] = mapped_column(sa.String(64))
    # Maker-checker: the approver is a compliance user other than the author.
    approver: Mapped[str | None] = mapped_column(sa.String(64))
    review_comment: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    activated_at: Mapped[datetime | None]

    ruleset: Mapped[Ruleset] = relationship(back_populates="versions", lazy="raise")
