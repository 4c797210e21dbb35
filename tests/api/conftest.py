"""Fixtures for the API tests: a migrated database per test, users of every role, a client.

On PostgreSQL the session database is shared, so each test gets its own schema (selected
through `search_path`) and drops it afterwards, as the storage tests do. Users are created
through `services.users`, so the keys the client sends are real keys checked the real way.

`settings` keeps Temporal off. Tests of the workflow side override it with `temporal_settings`
(the module's dev server, a task queue of the test's own: tests/conftest.py) and run a worker
with `serve`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from api_samples import USERS
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from temporalio.worker import Worker

from api.app import create_app
from config.settings import Settings, TemporalSettings
from runtime.temporal_client import connect
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
def temporal_settings(api_db_url: str, temporal: TemporalSettings) -> Settings:
    """Settings with Temporal on: the module's dev server, a task queue of this test's own."""
    return Settings(
        database={"url": api_db_url}, templates_dir=REPO / "templates", temporal=temporal
    )


Activities = Callable[[sessionmaker[Session]], Sequence[Callable[..., Any]]]


@pytest.fixture
def serve(settings: Settings, api_db_url: str) -> Callable[..., AbstractContextManager[None]]:
    """`with serve(workflows, activities):` a worker on the test's task queue for the block.

    `activities(factory)` builds the worker's activities on the test's database.
    """
    return partial(_worker_thread, settings, api_db_url)


@contextmanager
def _worker_thread(
    settings: Settings, url: str, workflows: Sequence[type], activities: Activities
) -> Iterator[None]:
    # A thread with its own event loop: the TestClient's calls block the test's thread.
    started, box = threading.Event(), {}
    engine = make_engine(url)

    async def run() -> None:
        client = await connect(settings.temporal)
        box["stop"], box["loop"] = asyncio.Event(), asyncio.get_running_loop()
        async with Worker(
            client,
            task_queue=settings.temporal.task_queue,
            workflows=workflows,
            activities=activities(make_session_factory(engine)),
            activity_executor=ThreadPoolExecutor(4),
        ):
            started.set()
            await box["stop"].wait()

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    assert started.wait(30), "the worker did not start"
    try:
        yield
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(30)
        engine.dispose()
        assert not thread.is_alive(), "the worker did not stop"


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
