"""Fixtures for the storage tests: an isolated, migrated database per test, on both backends.

The PostgreSQL database is shared by the whole test session (and other suites), so each test
here gets its own schema in it, selected through the connection's `search_path`, and drops it
afterwards. Migrations, triggers and `alembic_version` all land in that schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from store import migrate
from store.session import make_engine, make_session_factory


def _isolated(url: str) -> Iterator[str]:
    if not url.startswith("postgresql"):
        yield url
        return
    schema = f"store_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.schema.CreateSchema(schema))
    try:
        scoped = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            # A connection a failed test left open must not hang the run; the session database
            # is dropped at the end anyway.
            conn.execute(sa.text("SET lock_timeout = '10s'"))
            conn.execute(sa.schema.DropSchema(schema, cascade=True))
        admin.dispose()


@pytest.fixture
def db_url(database_url: str) -> Iterator[str]:
    """An empty database of its own for one test, on SQLite and on PostgreSQL."""
    yield from _isolated(database_url)


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    """An empty PostgreSQL schema of its own for one PostgreSQL-only test."""
    yield from _isolated(postgres_url)


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
