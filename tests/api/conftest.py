"""Fixtures for the API tests: a migrated database per test, users of every role, a client.

On PostgreSQL the session database is shared, so each test gets its own schema (selected
through `search_path`) and drops it afterwards, as the storage tests do. Users are created
through `services.users`, so the keys the client sends are real keys checked the real way.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Plain `pytest` puts tests/ on sys.path, where tests/api, tests/dsl and tests/cli (folders
# without __init__.py) would resolve as namespace packages named api, dsl and cli; with the
# repo root on the path too, the real, regular packages win.
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from api_samples import USERS  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from api.app import create_app  # noqa: E402
from config.settings import Settings  # noqa: E402
from services.users import create_user  # noqa: E402
from store import migrate  # noqa: E402
from store.session import make_engine, make_session_factory, session_scope  # noqa: E402


def _isolated(url: str) -> Iterator[str]:
    if not url.startswith("postgresql"):
        yield url
        return
    schema = f"api_test_{uuid.uuid4().hex[:10]}"
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
def api_db_url(database_url: str) -> Iterator[str]:
    """A freshly migrated database of this test's own, on SQLite and PostgreSQL."""
    for url in _isolated(database_url):
        migrate.upgrade(url)
        yield url


@pytest.fixture
def settings(api_db_url: str) -> Settings:
    return Settings(database={"url": api_db_url}, templates_dir=REPO / "templates")


@pytest.fixture
def keys(api_db_url: str) -> dict[str, str]:
    """An API key for each user in `USERS`, by user name."""
    engine = make_engine(api_db_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return {name: create_user(session, name, role)[1] for name, role in USERS.items()}
    finally:
        engine.dispose()


@pytest.fixture
def app(settings: Settings, keys: dict[str, str]) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def auth(keys: dict[str, str]) -> Callable[[str], dict[str, str]]:
    """`auth("mia")` -> the headers that authenticate as mia."""
    return lambda name: {"Authorization": f"Bearer {keys[name]}"}
