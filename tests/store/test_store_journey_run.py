"""Migration 0006 (the journey run index) on SQLite and PostgreSQL: up indexes the journeys the
audit log says were entered, down drops the table and nothing else, up again works."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from runtime.contracts import journey_id
from store import audit, migrate
from store.journey import JourneyRun
from store.session import make_engine, make_session_factory, session_scope


def _enter(url: str, *runs: tuple[str, str, str]) -> None:
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            for ruleset, journey, customer in runs:
                audit.append(session, actor="system", action="journey.entered",
                             subject_type="journey",
                             subject_id=journey_id(ruleset, journey, customer),
                             ruleset=ruleset, ruleset_version=1, rule=journey,
                             detail={"event_id": 1})  # fmt: skip
            audit.append(session, actor="mia", action="ruleset.activated",
                         subject_type="ruleset", subject_id="rs", ruleset="rs")  # fmt: skip
    finally:
        engine.dispose()


def _read(url: str, query: sa.Select) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(query)]
    finally:
        engine.dispose()


def test_0006_indexes_entered_journeys_and_downgrades_cleanly(db_url: str) -> None:
    migrate.upgrade(db_url, "0005")
    _enter(db_url, ("rs", "welcome", "C1"), ("rs", "dormant_card", "C-2"), ("rs", "welcome", "C1"))
    migrate.upgrade(db_url, "0006")

    runs = _read(db_url, sa.select(JourneyRun).order_by(JourneyRun.workflow_id))
    assert [run[:4] for run in runs] == [
        (journey_id("rs", "dormant_card", "C-2"), "rs", "dormant_card", "C-2"),
        (journey_id("rs", "welcome", "C1"), "rs", "welcome", "C1"),  # entered twice: one row
    ]
    entered = _read(db_url, sa.select(audit.AuditEntry.occurred_at).order_by(audit.AuditEntry.seq))
    assert all(isinstance(run[4], datetime) and run[4].tzinfo for run in runs)
    assert runs[1][4] == entered[2][0]  # the latest entry of the run

    migrate.downgrade(db_url, "0005")
    engine = make_engine(db_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert "journey_run" not in tables and "audit_entry" in tables
    assert len(_read(db_url, sa.select(audit.AuditEntry.seq))) == 4
    migrate.upgrade(db_url)
    assert migrate.is_up_to_date(db_url)
    assert len(_read(db_url, sa.select(JourneyRun.workflow_id))) == 2
