"""Fixtures for the service tests: a migrated database of its own per test, on both backends.

`migrated_url` (tests/conftest.py) gives each test its own migrated database: on PostgreSQL a
schema of its own, since the audit table refuses DELETE and TRUNCATE.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from services.actor import Actor
from store.session import make_engine, make_session_factory
from store.user import Role


@pytest.fixture
def session_factory(migrated_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(migrated_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session on the migrated database; the test commits what it wants kept."""
    with session_factory() as session:
        yield session


@pytest.fixture
def ops() -> Actor:
    return Actor("ops.li", Role.MARKETING_OPS)


@pytest.fixture
def admin() -> Actor:
    return Actor("admin.wang", Role.ADMIN)
