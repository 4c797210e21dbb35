"""The append-only, hash-chained audit log: who did what to which ruleset version and rule.

`append` writes an entry in the caller's transaction, so the entry commits or rolls back with
the change it records. Entry n carries `prev_hash` = hash of entry n-1 and `hash` = SHA-256 of
the canonical JSON of its own content including `prev_hash`; `verify` recomputes the chain and
names the first entry where it breaks (edited content, a relinked entry, a deleted entry), and
checks an `Anchor` (a head recorded outside the database) so that removing the newest entries
is caught too.
Appends are serialised (a transaction-scoped advisory lock on PostgreSQL; SQLite transactions
start with BEGIN IMMEDIATE, see `store.session`) and the unique `seq` is the backstop. On
PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE on the table (see the migrations).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base, BigIntId, utcnow
from store.canonical import canonical_json, normalise

GENESIS_HASH = "0" * 64
# Arbitrary fixed key for pg_advisory_xact_lock; every rulebank process must use the same one.
_PG_LOCK_KEY = 0x72756C6562616E6B  # "rulebank" in ASCII
_CONTENT = (
    "seq", "occurred_at", "actor", "action", "subject_type", "subject_id",
    "ruleset", "ruleset_version", "rule", "detail", "prev_hash",
)  # fmt: skip


class AuditEntry(Base):
    __tablename__ = "audit_entry"
    __table_args__ = (
        sa.Index(None, "subject_type", "subject_id"),
        sa.Index(None, "ruleset", "ruleset_version"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(64))
    subject_type: Mapped[str] = mapped_column(sa.String(32))
    subject_id: Mapped[str] = mapped_column(sa.String(200))
    ruleset: Mapped[str | None] = mapped_column(sa.String(100))
    ruleset_version: Mapped[int | None]
    rule: Mapped[str | None] = mapped_column(sa.String(100))
    # Plain JSON, not JSONB: the text is kept as written, so the hashed values read back as-is.
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int  # entries that verified before the first break (all of them when ok)
    first_broken_seq: int | None = None
    reason: str | None = None
    head_seq: int = 0  # the last entry checked, with its hash: record it as the next anchor
    head_hash: str = GENESIS_HASH


@dataclass(frozen=True)
class Anchor:
    """An entry recorded outside the database (`seq`, `hash`) that the chain must still hold.

    A chain verifies on its own even with its newest entries removed; an anchor taken from an
    earlier verify (a scheduled job's log, a compliance report) catches that."""

    seq: int
    hash: str


def _record(row: Any) -> dict[str, Any]:
    """The exported/hashed form of an entry row (ORM object or Core row)."""
    record = {name: getattr(row, name) for name in _CONTENT}
    record["occurred_at"] = row.occurred_at.isoformat(timespec="microseconds")
    return record


def _hash(record: Mapping[str, Any]) -> str:
    content = {name: record[name] for name in _CONTENT}
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    ruleset: str | None = None,
    ruleset_version: int | None = None,
    rule: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the chain inside the caller's transaction and flush it."""
    if session.get_bind().dialect.name == "postgresql":
        # Held until the caller's transaction ends: the next appender reads our entry as last.
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
    last = session.execute(
        sa.select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    entry = AuditEntry(
        seq=last.seq + 1 if last else 1,
        occurred_at=utcnow(),
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        ruleset=ruleset,
        ruleset_version=ruleset_version,
        rule=rule,
        # Normalised first, so what is hashed is exactly what the JSON column reads back.
        detail=normalise(dict(detail or {})),
        prev_hash=last.hash if last else GENESIS_HASH,
    )
    entry.hash = _hash(_record(entry))
    session.add(entry)
    session.flush()
    return entry


def _pages(session: Session, page_size: int, *where: Any) -> Iterator[Any]:
    """Entry rows in seq order, read by keyset pages (Core rows: no identity-map caching)."""
    table = AuditEntry.__table__
    after = 0
    while True:
        rows = session.execute(
            sa.select(table)
            .where(table.c.seq > after, *where)
            .order_by(table.c.seq)
            .limit(page_size)
        ).all()
        yield from rows
        if len(rows) < page_size:
            return
        after = rows[-1].seq


def verify(
    session: Session, *, page_size: int = 1000, anchor: Anchor | None = None
) -> VerifyResult:
    """Walk the whole chain in seq order and report the first broken link; with `anchor`,
    also that the anchored entry is still there, unchanged. The head is the last entry that
    verified (on a break too); keep it as the next anchor only when the chain is ok."""
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0

    def broken(seq: int, reason: str) -> VerifyResult:
        return VerifyResult(False, checked, seq, reason, expected_seq - 1, prev_hash)

    for row in _pages(session, page_size):
        if row.seq != expected_seq:
            missing = f"entry {expected_seq} is missing (next entry is {row.seq})"
            return broken(expected_seq, missing)
        if row.prev_hash != prev_hash:
            return broken(row.seq, f"entry {row.seq} does not link to entry {row.seq - 1}")
        if _hash(_record(row)) != row.hash:
            return broken(row.seq, f"entry {row.seq} content does not match its hash")
        if anchor is not None and row.seq == anchor.seq and row.hash != anchor.hash:
            return broken(row.seq, f"entry {row.seq} is not the anchored one (its hash differs)")
        expected_seq, prev_hash, checked = row.seq + 1, row.hash, checked + 1
    if anchor is not None and anchor.seq >= expected_seq:
        end = expected_seq - 1
        return broken(expected_seq, f"entry {anchor.seq} was anchored but the chain ends at {end}")
    return VerifyResult(True, checked, head_seq=expected_seq - 1, head_hash=prev_hash)


def export_jsonl(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    ruleset: str | None = None,
    page_size: int = 1000,
) -> Iterator[str]:
    """Yield entries as JSON lines ending in a newline, in seq order, optionally filtered.

    Each line is the hashed content plus `hash`; an external tool can check an entry by
    hashing the canonical JSON of the line without its `hash` key.
    """
    table = AuditEntry.__table__
    where = []
    if since is not None:
        where.append(table.c.occurred_at >= since)
    if until is not None:
        where.append(table.c.occurred_at < until)
    if ruleset is not None:
        where.append(table.c.ruleset == ruleset)
    for row in _pages(session, page_size, *where):
        yield canonical_json({**_record(row), "hash": row.hash}) + "\n"
