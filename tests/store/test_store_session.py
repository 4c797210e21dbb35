"""Engines and the unit-of-work scope: commit, rollback and the SQLite connection setup."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from store.registry import Ruleset
from store.session import make_engine, session_scope


def test_scope_commits_and_objects_stay_readable(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        ruleset = Ruleset(name="retail")
        session.add(ruleset)
    assert ruleset.name == "retail" and ruleset.id is not None  # no refresh after commit
    with session_scope(session_factory) as session:
        assert session.scalars(sa.select(Ruleset.name)).all() == ["retail"]


def test_scope_rolls_back_on_error(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(ValueError), session_scope(session_factory) as session:
        session.add(Ruleset(name="retail"))
        session.flush()
        raise ValueError("boom")
    with session_scope(session_factory) as session:
        assert session.scalars(sa.select(Ruleset)).all() == []


def test_sqlite_connections_are_configured(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "rulebank.db"
    engine = make_engine(f"sqlite:///{path}")  # creates the missing directory
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert path.exists()
    finally:
        engine.dispose()


def test_savepoints_roll_back_only_their_part(session_factory, engine) -> None:
    # On SQLite, real transactions (not the driver's implicit ones) make savepoints work.
    with session_scope(session_factory) as session:
        session.add(Ruleset(name="kept"))
        with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
            session.add(Ruleset(name="kept"))
    with session_scope(session_factory) as session:
        assert session.scalars(sa.select(Ruleset.name)).all() == ["kept"]
