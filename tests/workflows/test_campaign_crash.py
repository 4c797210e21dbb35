"""Crash test on the real dev server: a 10,000-customer campaign while its worker is killed.

The Temporal dev server, the recording gateway and the worker are three processes; the worker
(tests/workflows/campaign_crash_worker.py) is killed with SIGKILL at random points (after a
random number of further messages reached the gateway) at least three times and restarted.
The run is partitioned and continues as new, so kills land in children, parents and page
activities alike. Asserted at the gateway's record file (first delivery of each message id,
fsynced) and in the outbox: every consenting customer got exactly one message, nobody else got
one, and every customer was decided exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
import time
from pathlib import Path

import pytest
import pytest_asyncio
import sqlalchemy as sa
from temporalio.api.enums.v1 import EventType
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from store.outbox import Message
from tests.workflows.campaign_seed import seed_customers
from tests.workflows.campaign_support import run_input
from tests.workflows.conftest import DEV_SERVER, GATEWAY_TOKEN, REPO
from workflows.campaign_run import CampaignRunWorkflow
from workflows.campaign_types import CampaignRunResult

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.slow]
CUSTOMERS = 10_000
KILLS = 3


def consenting(index: int) -> bool:
    return index % 10 != 3


@pytest_asyncio.fixture(loop_scope="session")
async def dev_env():
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER), data_converter=pydantic_data_converter
    )
    try:
        yield env
    finally:
        await env.shutdown()


async def spawn(*args: str, ready: str) -> tuple[asyncio.subprocess.Process, str]:
    """Start `python -m ...` in the repo; wait for its line starting with `ready`."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", *args, cwd=REPO, stdout=asyncio.subprocess.PIPE
    )
    line = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode().strip()
    assert line.startswith(ready), line
    return proc, line


async def kill(proc: asyncio.subprocess.Process) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    await proc.wait()


def delivered(record: Path) -> list[dict]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]


async def wait_for_messages(record: Path, count: int, deadline_s: float = 120) -> None:
    deadline = time.monotonic() + deadline_s
    while len(delivered(record)) < count:
        assert time.monotonic() < deadline, f"gateway stuck below {count} messages"
        await asyncio.sleep(0.05)


async def test_worker_killed_three_times_sends_exactly_once(
    dev_env, migrated_sqlite_url, session_factory, task_queue, tmp_path
):
    seed_customers(session_factory, CUSTOMERS, sms_consent=consenting)
    record = tmp_path / "gateway.jsonl"
    gateway, line = await spawn(
        "delivery.testing", "gateway", "--record", str(record), "--token", GATEWAY_TOKEN,
        ready="listening",
    )  # fmt: skip
    worker_args = (
        "tests.workflows.campaign_crash_worker",
        "--address", dev_env.client.service_client.config.target_host,
        "--task-queue", task_queue, "--database", migrated_sqlite_url,
        "--gateway", line.split()[1], "--token", GATEWAY_TOKEN,
    )  # fmt: skip
    rng = random.Random(os.environ.get("CRASH_SEED", "rulebank"))
    worker, _ = await spawn(*worker_args, ready="ready")
    try:
        input = run_input(
            "announcement", "crash", page_size=100, pages_per_run=15,
            partition_threshold=4_000, partitions=3,
        )  # fmt: skip
        handle = await dev_env.client.start_workflow(
            CampaignRunWorkflow.run, input, id=input.root_run_id, task_queue=task_queue,
            result_type=CampaignRunResult,
        )  # fmt: skip
        for _ in range(KILLS):
            await wait_for_messages(record, len(delivered(record)) + rng.randint(150, 1200))
            await asyncio.sleep(rng.random() * 0.3)  # land anywhere inside a page
            await kill(worker)
            await asyncio.sleep(rng.random() * 2)  # down for a while, or restarted at once
            worker, _ = await spawn(*worker_args, ready="ready")
        result = await asyncio.wait_for(handle.result(), timeout=300)
    finally:
        for proc in (worker, gateway):
            if proc.returncode is None:
                await kill(proc)
    messages = delivered(record)
    eligible = sorted(f"+86138{i:08d}" for i in range(CUSTOMERS) if consenting(i))
    assert len(messages) == len(eligible)  # exactly once: no duplicate and none missing
    assert len({m["id"] for m in messages}) == len(messages)
    assert sorted(m["to"] for m in messages) == eligible
    with session_factory() as session:
        statuses = dict(
            session.execute(
                sa.select(Message.status, sa.func.count()).group_by(Message.status)
            ).all()
        )
    assert statuses == {"sent": len(eligible), "suppressed": CUSTOMERS - len(eligible)}
    assert result.status == "completed"
    assert result.counts["selected"] == CUSTOMERS
    counted = result.counts["sent"] + result.counts["duplicates"] + result.counts["suppressed"]
    assert counted == CUSTOMERS  # each customer decided once by the page that completed
    assert await retried_activities(dev_env.client, input.root_run_id) > 0  # kills hit pages


async def retried_activities(client, root_run_id: str) -> int:
    """Activity attempts after the first, over every run of the root and its partitions."""
    query = f'WorkflowId STARTS_WITH "{root_run_id}"'
    retried = 0
    async for execution in client.list_workflows(query):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                retried += event.activity_task_started_event_attributes.attempt > 1
    return retried
