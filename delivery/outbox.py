"""Outbox statements: find a page's existing messages, insert rows and decisions, set outcomes.

Each is one statement per page (an `IN` list or an executemany), never one per customer. The
unique `message.idempotency_key` is the guard: a row exists before its send is attempted,
so whatever crashes, a retry finds the row and either skips it (final) or resends it under
the same key (pending), which the provider dedupes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.outbox import ContactDecision, Message, MessageStatus

FINAL = (MessageStatus.SENT, MessageStatus.SUPPRESSED, MessageStatus.FAILED)


def existing(session: Session, keys: Sequence[str]) -> dict[str, Any]:
    """idempotency key -> (id, status, due_at, attempts) of the messages already recorded."""
    if not keys:
        return {}
    query = sa.select(
        Message.idempotency_key, Message.id, Message.status, Message.due_at, Message.attempts
    ).where(Message.idempotency_key.in_(keys))
    return {row.idempotency_key: row for row in session.execute(query)}


def insert_messages(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert new outbox rows (raises IntegrityError if another worker inserted one first)."""
    if rows:
        session.execute(sa.insert(Message), rows)


def update_messages(session: Session, rows: list[dict[str, Any]]) -> None:
    """Re-decide existing rows (a deferred send now due): rows carry `id` and new values."""
    if rows:
        session.execute(sa.update(Message), rows)


def insert_decisions(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(sa.insert(ContactDecision), rows)


def mark_sent(session: Session, keys: Iterable[str], now: datetime) -> None:
    """Sent: status, time, and one more attempt."""
    keys = list(keys)
    if keys:
        values = {"status": MessageStatus.SENT, "sent_at": now, "last_error": None}
        statement = sa.update(Message).where(Message.idempotency_key.in_(keys))
        session.execute(statement.values(attempts=Message.attempts + 1, **values))


def mark_errors(session: Session, errors: dict[str, str], *, final: bool) -> None:
    """Record an attempt's error; `final` makes the message failed (never retried)."""
    if not errors:
        return
    key = sa.bindparam("key")
    values: dict[str, Any] = {"attempts": Message.attempts + 1, "last_error": sa.bindparam("e")}
    if final:
        values["status"] = MessageStatus.FAILED
    statement = sa.update(Message).where(Message.idempotency_key == key).values(**values)
    params = [{"key": k, "e": error[:2000]} for k, error in errors.items()]
    session.connection().execute(statement, params)
