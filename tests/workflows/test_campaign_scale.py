"""A 100,000-customer campaign: every run's history stays under Temporal's 10,240-event limit.

Real SQLite, the real Deliverer and the recording gateway, on the time-skipping server. The
audience exceeds the partition threshold, so the root run splits into partitions; each
partition pages 100 customers at a time and continues as new every 150 pages. The test
follows every continue-as-new chain from the root's history (ChildWorkflowExecutionStarted ->
ContinuedAsNew -> ...) and checks each run's event count, so the bound is shown to come from
continue-as-new and partitioning, not from a small audience.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.workflows.campaign_seed import seed_customers
from tests.workflows.campaign_support import campaign_worker, run_input
from tests.workflows.test_campaign_run import skip_to_local
from workflows.campaign_run import CampaignRunWorkflow
from workflows.campaign_types import CampaignRunResult

pytestmark = pytest.mark.asyncio(loop_scope="session")
CUSTOMERS = 100_000
HISTORY_LIMIT = 10_240
CONTINUED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW


async def chain_lengths(client: Client, workflow_id: str, run_id: str) -> list[int]:
    """Event counts of a run and of every run it continued as."""
    lengths = []
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        lengths.append(len(history.events))
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.event_type == CONTINUED
            else ""
        )
    return lengths


async def test_a_100k_campaign_keeps_every_history_bounded(
    temporal_env, task_queue, session_factory, deliverer, gateway
):
    seed_customers(session_factory, CUSTOMERS)
    await skip_to_local(temporal_env, 10)
    input = run_input(
        "announcement", "scale-100k", page_size=100, pages_per_run=150,
        partition_threshold=50_000, partitions=2,
    )  # fmt: skip
    async with campaign_worker(
        temporal_env.client, task_queue, session_factory, deliverer, threads=2
    ):
        handle = await temporal_env.client.start_workflow(
            CampaignRunWorkflow.run, input, id=input.root_run_id, task_queue=task_queue,
            result_type=CampaignRunResult, execution_timeout=timedelta(days=1),
        )  # fmt: skip
        result = await handle.result()
    assert result.counts["sent"] == CUSTOMERS and len(gateway.received) == CUSTOMERS
    root = await handle.fetch_history()
    children = [
        e.child_workflow_execution_started_event_attributes.workflow_execution
        for e in root.events
        if e.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED
    ]
    assert len(children) == 2
    lengths = {"root": [len(root.events)]}
    for child in children:
        lengths[child.workflow_id] = await chain_lengths(
            temporal_env.client, child.workflow_id, child.run_id
        )
    runs = [n for chain in lengths.values() for n in chain]
    assert max(runs) < HISTORY_LIMIT, lengths
    # 500 pages per partition at 150 pages per run: each chain continued as new 3 times,
    # so no single run holds the ~3,000 events a partition's pages add up to.
    assert all(len(chain) == 4 for key, chain in lengths.items() if key != "root"), lengths
    assert result.pages == 1_000  # the last full page knows it is last: no empty page
