"""The time-skipping Temporal server the workflow tests run on.

`time_skipping()` starts the Java test server (`temporal-test-server` from the venv, never
downloaded) with the pydantic data converter the worker and clients use, and shuts it down
after the block. The fixtures decide how long one lives: a test (`temporal_env`,
tests/workflows/conftest.py) or a module (`lead_env`, tests/workflows/lead_support.py).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
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
