"""Shared test fixtures: database URLs for SQLite and a throwaway PostgreSQL database, and a
real Temporal dev server.

PostgreSQL tests run against the server named by RULEBANK_TEST_POSTGRES_ADMIN_URL (default: the
local server with trust auth, as on CI). Each test session creates its own database and drops
it afterwards, so parallel runs and developers never share state. When no server answers, the
PostgreSQL parameter is skipped locally and fails on CI, where it must exist.

The dev server (`dev_server`, for the runtime tests and the API tests that run workflows) is
started through `runtime.devserver`, the code `rulebank run` uses, one per test module on free
ports with its state in a temporary file. Tests of a module share it, so each one works on a
task queue of its own (`temporal`) and under names of its own, and never lists or deletes
anything it did not create.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

if TYPE_CHECKING:
    from config.settings import TemporalSettings

ADMIN_URL = os.environ.get(
    "RULEBANK_TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_available() -> bool:
    try:
        engine = sa.create_engine(ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this test session."""
    if not _postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required on CI but {ADMIN_URL} does not answer")
        pytest.skip("PostgreSQL is not reachable")
    name = f"rulebank_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(ADMIN_URL).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """URL of a fresh SQLite file database for one test."""
    return f"sqlite:///{tmp_path / 'rulebank.db'}"


@contextmanager
def isolated(url: str) -> Iterator[str]:
    """`url` itself for SQLite; a fresh schema of the PostgreSQL database, dropped afterwards.

    The PostgreSQL database is shared by the whole session, and the audit table refuses DELETE
    and TRUNCATE, so tests get a schema of their own (via `search_path`) instead of cleaning.
    """
    if not url.startswith("postgresql"):
        yield url
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.schema.CreateSchema(schema))
    try:
        scoped = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            # A connection a failed test left open must not hang the run.
            conn.execute(sa.text("SET lock_timeout = '10s'"))
            conn.execute(sa.schema.DropSchema(schema, cascade=True))
        admin.dispose()


@pytest.fixture
def isolate():
    """The `isolated(url)` context manager, for tests that need more than one database."""
    return isolated


@pytest.fixture
def migrated_url(database_url: str) -> Iterator[str]:
    """A migrated database of this test's own, on SQLite and on PostgreSQL."""
    from store import migrate

    with isolated(database_url) as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """Each test using this runs twice: on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rulebank.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalSettings]:
    """Settings pointing at a running dev server of this test module's own (use `temporal`)."""
    from config.settings import TemporalSettings
    from runtime import devserver

    folder = tmp_path_factory.mktemp("temporal")
    settings = TemporalSettings(
        address=f"127.0.0.1:{devserver.free_port()}",
        ui_port=devserver.free_port(),
        dev_server_db=folder / "temporal.db",
    )
    process = devserver.start(settings, log=folder / "temporal.log")
    try:
        devserver.wait_ready(settings, process, timeout_s=60)
        yield settings
    finally:
        devserver.stop(process, timeout_s=20)


@pytest.fixture
def temporal(dev_server: TemporalSettings) -> TemporalSettings:
    """The module's dev server with a task queue of this test's own."""
    return dev_server.model_copy(update={"task_queue": f"test-{uuid.uuid4().hex[:8]}"})


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--update-goldens`: rewrite golden files (tests/golden/) instead of comparing to them."""
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite tests/golden/ files from the current output (review the diff!)",
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    """True when the run was started with `--update-goldens`."""
    return bool(request.config.getoption("--update-goldens"))
