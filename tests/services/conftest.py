"""Fixtures for the service tests: a migrated database of its own per test, on both backends.

The PostgreSQL database is shared by the whole test session (and other suites), so each test
here gets its own schema in it, selected through the connection's `search_path`, and drops it
afterwards; the audit table refuses DELETE and TRUNCATE, so cleaning tables would not work.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker


def _unshadow(*names: str) -> None:
    """Turn a test folder imported as a namespace package back into the real package.

    pytest puts tests/ on sys.path (rootdir conftest), so `import dsl` may bind tests/dsl as an
    empty namespace package, without `dsl.compile_source`. The stale module object is filled
    in place, so modules holding it already see the real one. Redundant once pyproject's
    pytest options set `pythonpath = ["."]`.
    """
    root = Path(__file__).resolve().parents[2]
    for name in names:
        module = importlib.import_module(name)
        if getattr(module, "__file__", None) is None:
            init = root / name / "__init__.py"
            module.__file__ = str(init)
            exec(compile(init.read_text("utf-8"), str(init), "exec"), module.__dict__)


_unshadow("dsl", "store", "services", "api", "cli")

from services.actor import Actor  # noqa: E402
from store import migrate  # noqa: E402
from store.session import make_engine, make_session_factory  # noqa: E402
from store.user import Role  # noqa: E402


def isolated(url: str) -> Iterator[str]:
    """`url` itself for SQLite; a fresh schema of the PostgreSQL database otherwise."""
    if not url.startswith("postgresql"):
        yield url
        return
    schema = f"svc_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.schema.CreateSchema(schema))
    try:
        scoped = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SET lock_timeout = '10s'"))
            conn.execute(sa.schema.DropSchema(schema, cascade=True))
        admin.dispose()


@pytest.fixture
def migrated_url(database_url: str) -> Iterator[str]:
    """A migrated database of this test's own, on SQLite and on PostgreSQL."""
    for url in isolated(database_url):
        migrate.upgrade(url)
        yield url


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
