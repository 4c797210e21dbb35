"""CampaignRunWorkflow on the time-skipping server, with a real SQLite database, the real
Deliverer and a recording gateway: paging, continue-as-new, idempotent repeats, pause, resume,
stop, partitions, quiet-hours deferral and the progress query.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import CancelledError
from temporalio.testing import WorkflowEnvironment

from delivery.deliverer import Deliverer
from delivery.testing import RecordingGateway
from store.outbox import Message
from store.work import Task
from tests.workflows.campaign_seed import customer_id, seed_customers
from tests.workflows.campaign_support import campaign_worker, run_input
from workflows.campaign_run import CampaignRunWorkflow
from workflows.campaign_types import CampaignProgress, CampaignRunResult

pytestmark = pytest.mark.asyncio(loop_scope="session")
SHANGHAI = ZoneInfo("Asia/Shanghai")


async def skip_to_local(env: WorkflowEnvironment, hour: int, minute: int = 0) -> datetime:
    """Move the server clock to the next `hour:minute` in Shanghai; returns that instant."""
    now = (await env.get_current_time()).astimezone(SHANGHAI)
    target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    await env.sleep(target - now)
    return target


def phones(gateway: RecordingGateway) -> list[str]:
    return sorted(m["to"] for m in gateway.received)


def consenting(index: int) -> bool:
    return index % 4 != 0


async def start(env, task_queue, input, workflow_id=None) -> WorkflowHandle:
    return await env.client.start_workflow(
        CampaignRunWorkflow.run,
        input,
        id=workflow_id or f"{input.root_run_id}:{uuid.uuid4().hex[:6]}",
        task_queue=task_queue,
        result_type=CampaignRunResult,
        execution_timeout=timedelta(days=1),  # bounds the clock jump on result(): conftest.py
    )


async def run_events(handle: WorkflowHandle) -> list:
    return [event async for event in handle.fetch_history_events()]


async def test_pages_every_customer_once_across_continue_as_new(
    temporal_env, task_queue, session_factory, deliverer, gateway
):
    seed_customers(session_factory, 1_234, sms_consent=consenting)
    await skip_to_local(temporal_env, 10)
    input = run_input("announcement", "manual-1", page_size=100, pages_per_run=4)
    async with campaign_worker(temporal_env.client, task_queue, session_factory, deliverer):
        handle = await start(temporal_env, task_queue, input)
        result = await handle.result()
    expected = sorted(f"+86138{i:08d}" for i in range(1_234) if consenting(i))
    assert phones(gateway) == expected
    assert gateway.duplicates == 0
    assert result.status == "completed"
    assert result.counts["selected"] == 1_234
    assert result.counts["sent"] == len(expected)
    assert result.counts["suppressed"] == 1_234 - len(expected)
    assert result.pages == 13  # 12 full pages and the short last one
    first_run = await temporal_env.client.get_workflow_handle(
        handle.id, run_id=handle.first_execution_run_id
    ).fetch_history()
    assert (
        first_run.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    )


async def test_the_same_run_twice_sends_once(
    temporal_env, task_queue, session_factory, deliverer, gateway
):
    seed_customers(session_factory, 300)
    await skip_to_local(temporal_env, 10)
    input = run_input("announcement", "manual-twice", page_size=128)
    async with campaign_worker(temporal_env.client, task_queue, session_factory, deliverer):
        first = await (await start(temporal_env, task_queue, input)).result()
        second = await (await start(temporal_env, task_queue, input)).result()
    assert first.counts["sent"] == 300
    assert second.counts.get("sent", 0) == 0
    assert second.counts["duplicates"] == 300
    assert len(gateway.received) == 300
    with session_factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Message)) == 300


async def test_pause_holds_between_pages_and_resume_and_stop(
    temporal_env, task_queue, session_factory, deliverer, gateway
):
    seed_customers(session_factory, 500)
    await skip_to_local(temporal_env, 10)
    input = run_input("announcement", "manual-pause", page_size=50, paused=True)
    async with campaign_worker(temporal_env.client, task_queue, session_factory, deliverer):
        handle = await start(temporal_env, task_queue, input)
        progress = await handle.query(CampaignRunWorkflow.progress, result_type=CampaignProgress)
        assert progress.paused and progress.pages == 0
        await temporal_env.sleep(timedelta(hours=1))  # a paused run stays paused over time
        assert not gateway.received
        await handle.signal(CampaignRunWorkflow.resume)
        await handle.signal(CampaignRunWorkflow.pause)  # pauses again after at most a page
        await handle.signal(CampaignRunWorkflow.pause)  # twice is the same as once
        paused = await handle.query(CampaignRunWorkflow.progress, result_type=CampaignProgress)
        assert paused.paused
        await temporal_env.sleep(timedelta(minutes=5))
        held = len(gateway.received)
        assert held < 500
        await handle.signal(CampaignRunWorkflow.stop)
        result = await handle.result()
    assert result.status == "stopped"
    assert len(gateway.received) == held  # nothing after the stop
    assert result.counts.get("sent", 0) == held


async def test_large_audience_splits_into_partitions_that_send_once(
    temporal_env, task_queue, session_factory, deliverer, gateway
):
    seed_customers(session_factory, 1_000)
    await skip_to_local(temporal_env, 10)
    input = run_input(
        "announcement", "manual-split", page_size=40, pages_per_run=3,
        partition_threshold=300, partitions=3,
    )  # fmt: skip
    async with campaign_worker(temporal_env.client, task_queue, session_factory, deliverer):
        handle = await start(temporal_env, task_queue, input, workflow_id=input.root_run_id)
        result = await handle.result()
        progress = await handle.query(CampaignRunWorkflow.progress, result_type=CampaignProgress)
        again = await (await start(temporal_env, task_queue, input)).result()
    assert phones(gateway) == sorted(f"+86138{i:08d}" for i in range(1_000))
    assert result.counts["sent"] == 1_000 and result.status == "completed"
    assert [p.workflow_id for p in progress.partitions] == [
        f"{input.root_run_id}:part{i}" for i in (1, 2, 3)
    ]
    assert all(p.status == "completed" for p in progress.partitions)
    assert [p.id_high for p in progress.partitions] == [customer_id(332), customer_id(665), None]
    assert progress.pages == result.pages and progress.counts == result.counts
    # A repeated partitioned run reuses the root run's keys: every send is a duplicate.
    assert again.counts["duplicates"] == 1_000 and len(gateway.received) == 1_000


async def test_pause_and_stop_reach_every_partition(
    temporal_env, task_queue, session_factory, deliverer, gateway
):
    seed_customers(session_factory, 400)
    await skip_to_local(temporal_env, 10)
    input = run_input(
        "announcement", "manual-split-stop", page_size=20, partition_threshold=100, partitions=2,
    )  # fmt: skip
    async with campaign_worker(temporal_env.client, task_queue, session_factory, deliverer):
        handle = await start(temporal_env, task_queue, input)
        await handle.signal(CampaignRunWorkflow.pause)
        await wait_for_partitions(handle, 2)
        await temporal_env.sleep(timedelta(minutes=10))
        held = len(gateway.received)
        assert held < 400 and len(gateway.received) == held  # paused children send nothing
        await handle.signal(CampaignRunWorkflow.stop)
        result = await handle.result()
        progress = await handle.query(CampaignRunWorkflow.progress, result_type=CampaignProgress)
    assert result.status == "stopped" and len(gateway.received) == held
    assert [p.status for p in progress.partitions] == ["stopped", "stopped"]


async def wait_for_partitions(handle: WorkflowHandle, count: int) -> CampaignProgress:
    """Poll the progress query until `count` partitions have started (5 s deadline)."""
    for _ in range(100):
        progress = await handle.query(CampaignRunWorkflow.progress, result_type=CampaignProgress)
        if len(progress.partitions) == count:
            return progress
        await asyncio.sleep(0.05)
    raise AssertionError(f"partitions never started: {progress}")


async def test_quiet_hours_defer_and_the_run_sends_when_they_end(
    temporal_env, task_queue, session_factory, deliverer, gateway
):
    seed_customers(
        session_factory, 120, timezone=lambda i: "Asia/Urumqi" if i % 2 else "Asia/Shanghai"
    )
    fired = await skip_to_local(temporal_env, 9)  # 07:00 in Urumqi: inside 21:00-08:30
    input = run_input("announcement", "manual-quiet", page_size=50)
    async with campaign_worker(temporal_env.client, task_queue, session_factory, deliverer):
        handle = await start(temporal_env, task_queue, input)
        result = await handle.result()
    assert len(gateway.received) == 120 and gateway.duplicates == 0
    assert result.counts["deferred"] == 60 and result.counts["sent"] == 120
    with session_factory() as session:
        rows = session.execute(sa.select(Message.customer_id, Message.sent_at))
        sent = {cid: at for cid, at in rows}
    urumqi_open = fired + timedelta(hours=1, minutes=30)  # 08:30 in Urumqi
    for index in range(120):
        at = sent[customer_id(index)]
        if index % 2:
            assert urumqi_open <= at < urumqi_open + timedelta(minutes=5)
        else:
            assert fired <= at < fired + timedelta(minutes=5)


@pytest.mark.postgres
async def test_partitions_continue_as_new_and_deferral_on_postgres(
    temporal_env, task_queue, postgres_session_factory, delivery_settings, gateway
):
    factory = postgres_session_factory
    seed_customers(
        factory, 600, timezone=lambda i: "Asia/Urumqi" if i % 3 == 0 else "Asia/Shanghai"
    )
    await skip_to_local(temporal_env, 9)  # Urumqi customers are inside quiet hours
    input = run_input(
        "announcement", "manual-pg", page_size=50, pages_per_run=2,
        partition_threshold=200, partitions=2,
    )  # fmt: skip
    deliverer = Deliverer.from_settings(delivery_settings, factory)
    try:
        async with campaign_worker(temporal_env.client, task_queue, factory, deliverer):
            result = await (await start(temporal_env, task_queue, input)).result()
    finally:
        deliverer.channels.close()
    assert phones(gateway) == sorted(f"+86138{i:08d}" for i in range(600))
    assert result.counts["sent"] == 600 and result.counts["deferred"] == 200
    assert gateway.duplicates == 0


async def test_cancel_ends_the_run_as_cancelled(
    temporal_env, task_queue, session_factory, deliverer, gateway
):
    seed_customers(session_factory, 200)
    await skip_to_local(temporal_env, 10)
    input = run_input("announcement", "manual-cancel", page_size=20, paused=True)
    async with campaign_worker(temporal_env.client, task_queue, session_factory, deliverer):
        handle = await start(temporal_env, task_queue, input)
        await handle.query(CampaignRunWorkflow.progress, result_type=CampaignProgress)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    assert isinstance(failure.value.cause, CancelledError)
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    assert not gateway.received


async def test_task_actions_open_one_task_per_customer_and_reentry_holds(
    temporal_env, task_queue, session_factory, deliverer
):
    env = temporal_env
    seed_customers(session_factory, 60)
    input = run_input("callback", "manual-tasks", page_size=25)
    async with campaign_worker(env.client, task_queue, session_factory, deliverer):
        first = await (await start(env, task_queue, input)).result()
        again = await (await start(env, task_queue, input)).result()
        later = await (await start(env, task_queue, run_input("callback", "next"))).result()
    with session_factory() as session:
        tasks = session.execute(sa.select(Task.customer_id, Task.assignee, Task.due_at)).all()
    assert sorted(t.customer_id for t in tasks) == [customer_id(i) for i in range(60)]
    assert {t.assignee for t in tasks} == {f"rm{i:02d}" for i in range(5)}
    assert all(t.due_at is not None for t in tasks)
    assert first.counts["tasks"] == 60 and first.pages == 3
    assert again.counts["tasks"] == 60  # the same rows found again, none added
    assert later.counts["selected"] == 0  # `reentry after 90 days`: nobody selected again
    follow_up = env.client.get_workflow_handle(f"task:{input.root_run_id}|a1|C00000007")
    assert (await follow_up.describe()).workflow_type == "TaskFollowUpWorkflow"
