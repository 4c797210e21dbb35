"""The time-skipping Temporal server the workflow tests run on.

`time_skipping()` starts the Java test server (`temporal-test-server` from the venv, never
downloaded) with the pydantic data converter the worker and clients use, and shuts it down
after the block; `terminate_if_running` clears what a test leaves on it. The fixtures decide
how long one lives: a test (`temporal_env`, tests/workflows/conftest.py) or a module
(`lead_env`, tests/workflows/lead_support.py).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


@asynccontextmanager
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server with the pydantic converter, for the block's duration."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=str(TEST_SERVER)
    )
    try:
        yield env
    finally:
        await env.shutdown()


async def terminate_if_running(handle: WorkflowHandle, reason: str = "test over") -> None:
    """End a run a test leaves behind: a timer left on a shared time-skipping server fires
    later with no worker to serve it. A run that already ended answers NOT_FOUND; any other
    error is the test's."""
    try:
        await handle.terminate(reason)
    except RPCError as exc:
        assert exc.status == RPCStatusCode.NOT_FOUND, exc
