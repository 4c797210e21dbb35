"""Users of the control API and their API keys.

The table is `app_user` because `user` is reserved in PostgreSQL. An API key is shown to its
owner once and never stored: the table keeps its first `KEY_PREFIX_LENGTH` characters (indexed,
to find the candidate rows) and the SHA-256 of the whole key (compared in constant time by the
API's authentication).
"""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.base import Base, str_enum, utcnow

KEY_PREFIX_LENGTH = 8


class Role(enum.StrEnum):
    MARKETING_OPS = "marketing_ops"
    COMPLIANCE = "compliance"
    SERVICE_DESK = "service_desk"
    SALES = "sales"
    ADMIN = "admin"


def key_prefix(key: str) -> str:
    """The stored, indexed lookup prefix of an API key."""
    return key[:KEY_PREFIX_LENGTH]


def key_hash(key: str) -> str:
    """The stored SHA-256 hex digest of a whole API key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Users are disabled, never deleted: audit entries name them for years.
    disabled: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="user", lazy="raise")


class ApiKey(Base):
    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id"), index=True)
    prefix: Mapped[str] = mapped_column(sa.String(KEY_PREFIX_LENGTH), index=True)
    # The credential itself is never stored; only this digest of it.
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="api_keys", lazy="raise")
