"""Fixtures for the storage tests: an isolated, migrated database per test, on both backends.

Isolation comes from tests/conftest.py's `isolate`: on PostgreSQL each test gets a schema of its
own; migrations, triggers and `alembic_version` all land in that schema.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from store import migrate
from store.session import make_engine, make_session_factory


@pytest.fixture
def db_url(database_url: str, isolate) -> Iterator[str]:
    """An empty database of its own for one test, on SQLite and on PostgreSQL."""
    with isolate(database_url) as url:
        yield url


@pytest.fixture
def pg_url(postgres_url: str, isolate) -> Iterator[str]:
    """An empty PostgreSQL schema of its own for one PostgreSQL-only test."""
    with isolate(postgres_url) as url:
        yield url


@pytest.fixture
def migrated_url(db_url: str) -> str:
    """`db_url` with every migration applied."""
    migrate.upgrade(db_url)
    return db_url


@pytest.fixture
def engine(migrated_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(migrated_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: sa.Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session on the migrated database; the test commits what it wants kept."""
    with session_factory() as session:
        yield session
