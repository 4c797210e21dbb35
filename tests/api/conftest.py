"""Fixtures for the API tests: a migrated database per test, users of every role, a client.

On PostgreSQL the session database is shared, so each test gets its own schema (selected
through `search_path`) and drops it afterwards, as the storage tests do. Users are created
through `services.users`, so the keys the client sends are real keys checked the real way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from api_samples import USERS
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from config.settings import Settings
from services.users import create_user
from store.session import make_engine, make_session_factory, session_scope

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def api_db_url(migrated_url: str) -> str:
    """A freshly migrated database of this test's own, on SQLite and PostgreSQL."""
    return migrated_url


@pytest.fixture
def settings(api_db_url: str) -> Settings:
    # No Temporal here: API tests must not reach a dev server that happens to run locally.
    return Settings(
        database={"url": api_db_url},
        templates_dir=REPO / "templates",
        temporal={"enabled": False},
    )


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
