"""Fixtures for the runtime tests: one real Temporal dev server per test session.

The server is started through `runtime.devserver` (the code `rulebank run` uses) on free ports
with its state in a temporary file, and stopped at the end. Tests share it, so each one works
under names of its own (a unique ruleset name, a unique task queue) and never lists or
deletes anything it did not create.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from runtime_samples import shipped_plan, variant

from config.settings import TemporalSettings
from dsl.plan_ops import Plan
from runtime import devserver


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalSettings]:
    """Settings pointing at a running dev server (its task queue is replaced per test)."""
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
        assert devserver.stop(process, timeout_s=20) is not None


@pytest.fixture
def temporal(dev_server: TemporalSettings) -> TemporalSettings:
    """The dev server with a task queue of this test's own."""
    return dev_server.model_copy(update={"task_queue": f"test-{uuid.uuid4().hex[:8]}"})


@pytest.fixture
def plan() -> Plan:
    """The retail plan under a ruleset name unique to this test."""
    return variant(shipped_plan(), ruleset=f"t_{uuid.uuid4().hex[:10]}")
