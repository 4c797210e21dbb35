"""Users of the control API: creating them with a key, and turning a key back into an Actor.

A key is `rbk_` + 32 random bytes (URL-safe base64), shown to its owner once. Only its lookup
prefix and SHA-256 digest are stored (see `store.user`), so a database dump yields no usable
credential. Authentication finds candidate keys by prefix and compares digests in constant
time; disabled users and revoked keys are refused like unknown ones.
"""

from __future__ import annotations

import hmac
import re
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.actor import Actor
from services.errors import ConflictError, InvalidError
from store import audit
from store.user import ApiKey, Role, User, key_hash, key_prefix

KEY_SCHEME = "rbk_"
# Names appear in audit entries and maker-checker comparisons: keep them plain and stable.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# What `new_key` produces; anything else is refused before it reaches a query (PostgreSQL
# rejects some characters, e.g. NUL, outright).
_KEY = re.compile(r"^rbk_[A-Za-z0-9_-]{4,200}$")


def new_key() -> str:
    """A fresh API key (256 bits of randomness)."""
    return KEY_SCHEME + secrets.token_urlsafe(32)


def create_user(
    session: Session, name: str, role: Role | str, *, created_by: str = "system"
) -> tuple[User, str]:
    """Create user `name` with `role` and a first API key; returns the user and the key."""
    if not _NAME.match(name):
        raise InvalidError(
            f"invalid user name {name!r}: 1-64 letters, digits, '.', '_', '@' or '-'"
        )
    try:
        role = Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise InvalidError(f"unknown role {role!r}; known roles: {known}") from None
    if session.scalar(sa.select(User.id).where(User.name == name)) is not None:
        raise ConflictError(f"a user named {name!r} already exists")
    user = User(name=name, role=role)
    session.add(user)
    session.flush()
    key = issue_key(session, user)
    audit.append(
        session, actor=created_by, action="user.created", subject_type="user",
        subject_id=name, detail={"role": role.value, "key_prefix": key_prefix(key)},
    )  # fmt: skip
    return user, key


def issue_key(session: Session, user: User) -> str:
    """Store a new key for `user` and return it (the only time it is visible)."""
    key = new_key()
    session.add(ApiKey(user_id=user.id, prefix=key_prefix(key), key_hash=key_hash(key)))
    session.flush()
    return key


def authenticate(session: Session, key: str) -> Actor | None:
    """The actor owning `key`, or None if it is unknown, revoked or its user is disabled."""
    if not _KEY.fullmatch(key):
        return None
    digest = key_hash(key)
    rows = session.execute(
        sa.select(ApiKey.key_hash, User.name, User.role)
        .join(User, User.id == ApiKey.user_id)
        .where(
            ApiKey.prefix == key_prefix(key),
            ApiKey.revoked_at.is_(None),
            User.disabled.is_(False),
        )
    ).all()
    found: Actor | None = None
    for stored, name, role in rows:
        # Constant-time comparison on every candidate: timing reveals nothing about the hash.
        if hmac.compare_digest(stored, digest):
            found = Actor(name, role)
    return found
