"""Replay: every recorded journey and task history still replays against today's workflow code.

A change to `JourneyWorkflow` or `TaskFollowUpWorkflow` that would break a running workflow
(a step reordered, an activity renamed, a timer added) fails here instead of in production;
such a change needs `workflow.patched`. The histories were recorded by the time-skipping
tests in this folder (regenerate with `pytest tests/workflows --update-goldens`, and review:
the old histories are what running workflows look like). One tampered history must fail, which
proves the replayer really compares the code's commands with the recorded ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from tests.workflows import replay_support
from tests.workflows.replay_support import HISTORIES, load, renamed_activity
from workflows.journey import JourneyWorkflow
from workflows.task_followup import TaskFollowUpWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")
RECORDED = sorted(HISTORIES.glob("journey_*.json")) + sorted(HISTORIES.glob("task_*.json"))


def replayer() -> Replayer:
    return replay_support.replayer(JourneyWorkflow, TaskFollowUpWorkflow)


async def test_every_workflow_type_and_path_has_a_recorded_history():
    names = {path.stem for path in RECORDED}
    types = {
        json.loads(p.read_text())["events"][0]["workflowExecutionStartedEventAttributes"][
            "workflowType"
        ]["name"]
        for p in RECORDED
    }
    assert types == {"JourneyWorkflow", "TaskFollowUpWorkflow"}
    assert {
        "journey_exit_on_event",
        "journey_wait_event_timeout_else",
        "journey_yearly_continues_as_new",
        "task_escalated_then_completed",
        "task_withdrawn_before_due",
    } <= names


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path):
    result = await replayer().replay_workflow(load(path), raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


async def test_a_history_the_code_no_longer_matches_fails_to_replay():
    # As if an earlier version of the workflow had opened with a different activity.
    tampered = renamed_activity(HISTORIES / "journey_exit_on_event.json", 0, "journey.deadline")
    with pytest.raises(NondeterminismError):
        await replayer().replay_workflow(tampered)
