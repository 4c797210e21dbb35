"""Replay of recorded CampaignRunWorkflow histories with the current workflow code.

A campaign run can be in flight for days (deferred sends, pauses), so a code change that alters
the commands an existing history expects breaks running campaigns. Every history in
tests/workflows/histories/campaign_*.json must replay; `campaign_incompatible.json` was recorded
from an older run that paged without counting its audience first and must fail with a
nondeterminism error: it is the proof that replay would catch such a change (which must then
go behind `workflow.patched`). Re-record after an intended, patched change with

    .venv/bin/python -m pytest tests/workflows/test_replay_campaign.py --update-goldens
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, Worker

from activities.campaign import CampaignActivities
from runtime.contracts import CampaignRunInput
from tests.workflows import replay_support
from tests.workflows.campaign_seed import seed_customers
from tests.workflows.campaign_support import campaign_worker, run_input
from tests.workflows.replay_support import HISTORIES
from tests.workflows.test_campaign_run import skip_to_local
from workflows.campaign_options import page_options
from workflows.campaign_run import CampaignRunWorkflow
from workflows.campaign_types import DELIVER_PAGE, AudienceRequest, PageRequest, PageResult

pytestmark = pytest.mark.asyncio(loop_scope="session")
INCOMPATIBLE = HISTORIES / "campaign_incompatible.json"
SHANGHAI, URUMQI = "Asia/Shanghai", "Asia/Urumqi"
CHAINS = {"campaign_paged_last": "campaign_paged_first"}  # a later run of the same workflow
RECORDED = sorted(p for p in HISTORIES.glob("campaign_*.json") if p != INCOMPATIBLE)


def replayer() -> Replayer:
    return replay_support.replayer(CampaignRunWorkflow)


def load(path: Path) -> WorkflowHistory:
    """A recorded history; its workflow id is the file name (the first run's, for a chain)."""
    return replay_support.load(path, workflow_id=CHAINS.get(path.stem))


async def test_histories_are_recorded() -> None:
    names = {p.stem for p in RECORDED}
    assert {"campaign_paged_first", "campaign_partitioned_root", "campaign_deferred"} <= names
    assert INCOMPATIBLE.exists()


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path) -> None:
    await replayer().replay_workflow(load(path))


async def test_incompatible_history_fails_to_replay() -> None:
    with pytest.raises(workflow.NondeterminismError):
        await replayer().replay_workflow(load(INCOMPATIBLE))


@workflow.defn(name="CampaignRunWorkflow", sandboxed=False)
class OlderCampaignRun:
    """An older CampaignRunWorkflow: pages straight away, without counting the audience."""

    @workflow.run
    async def run(self, input: CampaignRunInput) -> int:
        audience = AudienceRequest(
            rule=input.rule,
            campaign=input.campaign,
            root_run_id=input.root_run_id,
            timezone=input.timezone,
            as_of=workflow.now(),
        )
        request = PageRequest(audience=audience, after_id=None, page_size=50, now=workflow.now())
        result = await workflow.execute_activity(
            DELIVER_PAGE.name, request, result_type=PageResult, **page_options()
        )
        return result.counts.get("sent", 0)


async def _record(env, queue, input, *paths: Path, signals=()) -> None:
    """Run `input` to completion; save its first, second, ... run's history to `paths`."""
    workflow_id = paths[0].stem  # replay derives partition ids from the workflow id
    handle = await env.client.start_workflow(
        "CampaignRunWorkflow", input, id=workflow_id, task_queue=queue,
        execution_timeout=timedelta(days=1),  # bounds the test server's clock jump
    )  # fmt: skip
    for signal in signals:
        await handle.signal(signal)
    await handle.result()
    run_id = handle.first_execution_run_id
    for path in paths:
        run = env.client.get_workflow_handle(workflow_id, run_id=run_id)
        history = await run.fetch_history()
        path.write_text(history.to_json())
        last = history.events[-1].workflow_execution_continued_as_new_event_attributes
        run_id = last.new_execution_run_id


async def test_record_histories(
    update_goldens, temporal_env, task_queue, session_factory, deliverer, gateway
) -> None:
    if not update_goldens:
        pytest.skip("records histories only with --update-goldens")
    HISTORIES.mkdir(exist_ok=True)
    seed_customers(session_factory, 300, timezone=lambda i: URUMQI if i % 10 == 0 else SHANGHAI)
    env, queue = temporal_env, task_queue
    async with campaign_worker(env.client, queue, session_factory, deliverer):
        await skip_to_local(env, 10)
        paged = run_input("announcement", "replay-paged", page_size=50, pages_per_run=4)
        await _record(
            env, queue, paged,
            HISTORIES / "campaign_paged_first.json", HISTORIES / "campaign_paged_last.json",
        )  # fmt: skip
        split = run_input(
            "announcement", "replay-split", page_size=40, pages_per_run=2,
            partition_threshold=100, partitions=2,
        )  # fmt: skip
        await _record(env, queue, split, HISTORIES / "campaign_partitioned_root.json")
        stopped = run_input("announcement", "replay-stop", page_size=20, paused=True)
        await _record(
            env, queue, stopped, HISTORIES / "campaign_stopped.json",
            signals=["resume", "pause", "stop"],
        )  # fmt: skip
        await skip_to_local(env, 9)  # 07:00 in Urumqi: quiet hours defer a tenth of the sends
        deferred = run_input("announcement", "replay-deferred", page_size=100)
        await _record(env, queue, deferred, HISTORIES / "campaign_deferred.json")
    activities = CampaignActivities(session_factory, deliverer).activities()
    async with Worker(
        env.client, task_queue=f"{queue}-older", workflows=[OlderCampaignRun],
        activities=activities, activity_executor=ThreadPoolExecutor(2),
    ):  # fmt: skip
        await skip_to_local(env, 10)
        older = run_input("announcement", "replay-older")
        await _record(env, f"{queue}-older", older, INCOMPATIBLE)
