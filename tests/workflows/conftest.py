"""Shared Temporal fixtures for workflow tests: a time-skipping server and a migrated SQLite
database per test.

The time-skipping test server (`temporal-test-server` from the venv, never downloaded:
tests/workflows/temporal_support.py) is started for each test with the pydantic data converter
the worker and clients use; each test runs its own worker on its own task queue.
The server's clock only moves forward: tests reason relative to `env.get_current_time()`.
Quirk of the test server: awaiting a result (auto time skipping) moves the clock to the next
timer it still holds, including the run timeout of a workflow that already completed, which
defaults to 10 years. Start workflows with an `execution_timeout` of what the test needs (or
wait inside `env.auto_time_skipping_disabled()`), so the clock stays near the present for the
rest of the test (business calendars only know a few years).
Async tests here must run on the session event loop the environment lives on: put
`pytestmark = pytest.mark.asyncio(loop_scope="session")` at the top of each test module.
A database is migrated once per session and copied per test (a file copy, not a migration).
`deliverer` is the real Deliverer on that database, sending to the recording `gateway`.
"""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from delivery.deliverer import Deliverer
from delivery.testing import RecordingGateway
from store.migrate import upgrade
from store.session import make_engine, make_session_factory
from tests.workflows.temporal_support import time_skipping

DEV_SERVER = Path(sys.executable).parent / "temporal"  # for tests/workflows/test_campaign_crash.py
REPO = Path(__file__).resolve().parents[2]
GATEWAY_TOKEN = "workflow-test-token"


@pytest_asyncio.fixture(loop_scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping Temporal server of this test's own, with the pydantic converter.

    One per test, not per session: a workflow one test leaves with a pending timer would
    otherwise drive the shared clock for every later test (seen as timeouts under load).
    Starting the Java test server costs about a second."""
    async with time_skipping() as env:
        yield env


@pytest.fixture
def task_queue() -> str:
    """A task queue of this test's own, so workers of different tests never share work."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database file at the newest schema revision, migrated once per session."""
    path = tmp_path_factory.mktemp("schema") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def migrated_sqlite_url(migrated_template: Path, tmp_path: Path) -> str:
    """URL of a fresh, migrated SQLite database file for one test."""
    path = tmp_path / "rulebank.db"
    shutil.copyfile(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def session_factory(migrated_sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory on this test's migrated SQLite database."""
    engine = make_engine(migrated_sqlite_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture
def postgres_session_factory(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory on a migrated schema of this test's own in the session's PostgreSQL
    database (skipped where no server answers, required on CI: tests/conftest.py)."""
    schema = f"wf_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.schema.CreateSchema(schema))
    url = sa.make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    scoped = url.render_as_string(hide_password=False)
    upgrade(scoped)
    engine = make_engine(scoped)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.schema.DropSchema(schema, cascade=True))
        admin.dispose()


@pytest.fixture
def gateway() -> Iterator[RecordingGateway]:
    """The recording SMS/push gateway (`delivery.testing`) on a random port."""
    with RecordingGateway(token=GATEWAY_TOKEN) as server:
        yield server


@pytest.fixture
def delivery_settings(gateway: RecordingGateway) -> Settings:
    """Settings sending SMS and push to `gateway` with the repo's templates (email: dry run)."""
    delivery = {
        "sms_gateway_url": gateway.url,
        "push_gateway_url": gateway.url,
        "gateway_token": GATEWAY_TOKEN,
        "retry_backoff_s": 0.01,
        "timeout_s": 5,
        # No render cap override: the production default counts the template's own CPU time
        # (delivery/templates.py), so a busy machine or a wait for the GIL cannot fail a message.
    }
    return Settings(environment="dev", templates_dir=REPO / "templates", delivery=delivery)


@pytest.fixture
def deliverer(
    delivery_settings: Settings, session_factory: sessionmaker[Session]
) -> Iterator[Deliverer]:
    """The real Deliverer on this test's database, sending to `gateway`."""
    built = Deliverer.from_settings(delivery_settings, session_factory)
    try:
        yield built
    finally:
        built.channels.close()
