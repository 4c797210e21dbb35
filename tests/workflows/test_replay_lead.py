"""Replay: every recorded lead follow-up history still replays against today's workflow code.

The histories were recorded by tests/workflows/test_lead_followup.py (regenerate with
`pytest tests/workflows/test_lead_followup.py --update-goldens` and review the diff: the old
histories are what running lead workflows look like). They cover the whole ladder into the
pool, the `otherwise` reassignments, updates (a refused claim, a claim, a release), a closing
update, and a run that began from continue-as-new. A change that would break a running lead
(a timer or activity added, reordered or renamed) fails here and needs `workflow.patched`; one
tampered history must fail, proving the replayer really compares commands. Payloads carry ids
and times only: the prospect's name never enters history.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from tests.workflows import replay_support
from tests.workflows.replay_support import HISTORIES, load, renamed_activity
from workflows.lead_followup import LeadFollowUpWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")
RECORDED = sorted(HISTORIES.glob("lead_*.json"))
PROSPECT = "某某科技有限公司"  # the name every test lead carries (tests/workflows/lead_support.py)


def replayer() -> Replayer:
    return replay_support.replayer(LeadFollowUpWorkflow)


def payload_texts(node: Any) -> Iterator[str]:
    """The decoded `data` of every payload in a history's JSON."""
    if isinstance(node, dict):
        if "metadata" in node and "data" in node:
            yield base64.b64decode(node["data"]).decode("utf-8", errors="replace")
        for value in node.values():
            yield from payload_texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from payload_texts(value)


async def test_the_recorded_paths_are_all_there():
    names = {path.stem for path in RECORDED}
    assert names == {
        "lead_after_continue_as_new",
        "lead_cooldown_refused_then_claimed",
        "lead_disqualified_by_admin",
        "lead_hourly_ladder_to_pool",
        "lead_otherwise_to_pool",
    }
    events = json.loads((HISTORIES / "lead_cooldown_refused_then_claimed.json").read_text())
    kinds = {key for e in events["events"] for key in e if key.endswith("EventAttributes")}
    assert "workflowExecutionUpdateCompletedEventAttributes" in kinds


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path):
    result = await replayer().replay_workflow(load(path), raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
async def test_history_holds_no_personal_data(path: Path):
    texts = list(payload_texts(json.loads(path.read_text())))
    assert any('"lead_id"' in text for text in texts)  # the decoding really reads payloads
    assert not any(PROSPECT in text for text in texts)


async def test_a_history_the_code_no_longer_matches_fails_to_replay():
    # As if an earlier version had taken the second step with another activity.
    tampered = renamed_activity(HISTORIES / "lead_hourly_ladder_to_pool.json", 1, "lead.act")
    with pytest.raises(NondeterminismError):
        await replayer().replay_workflow(tampered)
