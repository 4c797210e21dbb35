"""The audit chain: appends link up, `verify` finds the first edited or missing entry, and on
PostgreSQL the database itself refuses to change or delete entries."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from store import audit
from store.audit import GENESIS_HASH, AuditEntry
from store.canonical import canonical_json
from store.registry import VersionStatus
from store.session import make_engine, session_scope

TABLE = AuditEntry.__table__


def append_n(factory: sessionmaker[Session], count: int, **fields) -> None:
    for index in range(count):
        with session_scope(factory) as session:
            audit.append(
                session, actor="ops", action="ruleset.submit", subject_type="ruleset_version",
                subject_id=str(index), ruleset="retail", ruleset_version=index, rule="birthday",
                detail={"index": index}, **fields,
            )  # fmt: skip


def tamper(engine: sa.Engine, statement: sa.Executable) -> None:
    """Change the table behind the application's back, as an attacker with SQL access would."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only")
        conn.execute(statement)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only")


def verify(factory: sessionmaker[Session], **kwargs) -> audit.VerifyResult:
    with session_scope(factory) as session:
        return audit.verify(session, **kwargs)


def intact(result: audit.VerifyResult, entries: int) -> bool:
    """The chain verified whole: `entries` checked, the last of them its head."""
    return (result.ok, result.checked, result.head_seq) == (True, entries, entries)


def test_appends_form_a_chain(session_factory: sessionmaker[Session]) -> None:
    assert verify(session_factory) == audit.VerifyResult(ok=True, checked=0)
    append_n(session_factory, 5)
    with session_scope(session_factory) as session:
        rows = session.execute(sa.select(TABLE).order_by(TABLE.c.seq)).all()
    assert [row.seq for row in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(rows))
    assert rows[0].occurred_at.tzinfo is UTC
    assert intact(verify(session_factory), 5)


def test_append_belongs_to_the_callers_transaction(session_factory) -> None:
    append_n(session_factory, 1)
    with pytest.raises(RuntimeError), session_scope(session_factory) as session:
        audit.append(session, actor="ops", action="x", subject_type="t", subject_id="1")
        raise RuntimeError("the recorded change failed")
    append_n(session_factory, 1)
    with session_scope(session_factory) as session:
        assert session.scalars(sa.select(AuditEntry.seq)).all() == [1, 2]
    assert verify(session_factory).ok


def test_detail_is_normalised_before_hashing(session_factory) -> None:
    detail = {
        "amount": Decimal("200000.10"), "at": datetime(2024, 5, 1, 8, 0, tzinfo=UTC),
        "status": VersionStatus.APPROVED, "名": "王", "ratio": 0.1,
    }  # fmt: skip
    with session_scope(session_factory) as session:
        entry = audit.append(
            session, actor="compliance", action="ruleset.approve",
            subject_type="ruleset_version", subject_id="7", detail=detail,
        )  # fmt: skip
    assert entry.detail == {
        "amount": "200000.10", "at": "2024-05-01T08:00:00+00:00",
        "status": "approved", "名": "王", "ratio": 0.1,
    }  # fmt: skip
    assert verify(session_factory).ok


@pytest.mark.parametrize(
    ("column", "value"), [("actor", "mallory"), ("detail", {"index": 99}), ("ruleset", None)]
)
def test_an_edited_entry_is_found_at_its_seq(engine, session_factory, column, value) -> None:
    append_n(session_factory, 5)
    tamper(engine, sa.update(TABLE).where(TABLE.c.seq == 3).values({column: value}))
    result = verify(session_factory)
    assert (result.ok, result.first_broken_seq, result.checked) == (False, 3, 2)
    assert "content" in result.reason


def test_a_rehashed_entry_breaks_the_next_link(engine, session_factory) -> None:
    append_n(session_factory, 5)
    tamper(engine, sa.update(TABLE).where(TABLE.c.seq == 3).values(hash="f" * 64))
    assert verify(session_factory).first_broken_seq == 3
    # Recomputing entry 3's hash over edited content still leaves entry 4 pointing at the old one.
    with session_scope(session_factory) as session:
        row = session.execute(sa.select(TABLE).where(TABLE.c.seq == 3)).one()
    record = {**audit._record(row), "actor": "mallory"}
    tamper(
        engine,
        sa.update(TABLE).where(TABLE.c.seq == 3).values(actor="mallory", hash=audit._hash(record)),
    )
    result = verify(session_factory, page_size=2)  # the break straddles a page boundary
    assert (result.first_broken_seq, result.checked) == (4, 3)
    assert "link" in result.reason


def test_a_deleted_entry_is_found(engine, session_factory) -> None:
    append_n(session_factory, 5)
    tamper(engine, sa.delete(TABLE).where(TABLE.c.seq == 3))
    result = verify(session_factory)
    assert (result.ok, result.first_broken_seq, result.checked) == (False, 3, 2)
    assert "missing" in result.reason


def test_the_first_entry_deleted_is_found(engine, session_factory) -> None:
    append_n(session_factory, 2)
    tamper(engine, sa.delete(TABLE).where(TABLE.c.seq == 1))
    assert verify(session_factory).first_broken_seq == 1


def test_an_anchor_catches_the_newest_entries_removed(engine, session_factory) -> None:
    append_n(session_factory, 5)
    head = verify(session_factory)
    assert (head.head_seq, len(head.head_hash)) == (5, 64)
    anchor = audit.Anchor(head.head_seq, head.head_hash)
    assert verify(session_factory, anchor=anchor).ok
    append_n(session_factory, 1)  # the chain may grow past its anchor
    assert verify(session_factory, anchor=anchor).ok
    tamper(engine, sa.delete(TABLE).where(TABLE.c.seq >= 4))
    assert verify(session_factory).ok  # on its own, a shortened chain still verifies
    result = verify(session_factory, anchor=anchor)
    assert (result.ok, result.first_broken_seq, result.checked) == (False, 4, 3)
    assert result.reason == "entry 5 was anchored but the chain ends at 3"


def test_an_anchor_with_another_hash_is_reported_at_its_seq(session_factory) -> None:
    append_n(session_factory, 3)
    result = verify(session_factory, anchor=audit.Anchor(2, "e" * 64))
    assert (result.ok, result.first_broken_seq, result.checked) == (False, 2, 1)
    assert "anchored" in result.reason
    assert result.head_seq == 1  # the last entry that verified, not the genesis


def test_seq_is_unique(session_factory) -> None:
    append_n(session_factory, 1)
    with pytest.raises(sa.exc.IntegrityError), session_scope(session_factory) as session:
        session.execute(
            sa.insert(TABLE).values(
                seq=1,
                occurred_at=datetime.now(UTC),
                actor="a",
                action="b",
                subject_type="c",
                subject_id="d",
                detail={},
                prev_hash=GENESIS_HASH,
                hash="0" * 64,
            )
        )


def test_concurrent_appends_stay_one_chain(migrated_url: str) -> None:
    engine = make_engine(migrated_url)
    factory = sessionmaker(engine)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            append_n(factory, 10)
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert intact(verify(factory), 40)
    finally:
        engine.dispose()


def test_export_lines_carry_a_checkable_hash(session_factory) -> None:
    append_n(session_factory, 3)
    with session_scope(session_factory) as session:
        audit.append(
            session, actor="admin", action="user.create", subject_type="user", subject_id="alice"
        )
        lines = list(audit.export_jsonl(session, page_size=2))
        only_retail = list(audit.export_jsonl(session, ruleset="retail"))
        future = list(audit.export_jsonl(session, since=datetime(2999, 1, 1, tzinfo=UTC)))
    assert len(lines) == 4 and all(line.endswith("\n") for line in lines)
    records = [json.loads(line) for line in lines]
    assert [record["seq"] for record in records] == [1, 2, 3, 4]
    for record in records:
        content = {key: value for key, value in record.items() if key != "hash"}
        digest = hashlib.sha256(canonical_json(content).encode()).hexdigest()
        assert digest == record["hash"]
    assert len(only_retail) == 3 and future == []


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        sa.update(TABLE).values(actor="mallory"),
        sa.delete(TABLE),
        sa.text("TRUNCATE audit_entry"),
    ],
    ids=["update", "delete", "truncate"],
)
def test_postgres_refuses_to_change_the_log(pg_url: str, statement) -> None:
    from store import migrate

    migrate.upgrade(pg_url)
    engine = make_engine(pg_url)
    factory = sessionmaker(engine)
    try:
        append_n(factory, 2)
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(statement)
        assert intact(verify(factory), 2)
    finally:
        engine.dispose()
