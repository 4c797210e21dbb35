"""What the replay tests share: the recorded histories, a replayer, and recording new ones.

Histories live in tests/workflows/histories/ and are recorded by the tests that run the
workflows, only with `--update-goldens` (review the diff: the old histories are what running
workflows look like). A replayer uses the data converter the workers use, so payloads decode
as they do in production; `renamed_activity` tampers with a history the way an incompatible
code change would, for the test that proves replay catches it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

HISTORIES = Path(__file__).resolve().parent / "histories"


def replayer(*workflows: type) -> Replayer:
    """A replayer of `workflows` with the pydantic data converter."""
    return Replayer(workflows=list(workflows), data_converter=pydantic_data_converter)


def load(
    path: Path, data: dict[str, Any] | None = None, workflow_id: str | None = None
) -> WorkflowHistory:
    """The history recorded at `path` (or `data`, an edited copy of it); its workflow id is
    the file name unless `workflow_id` says otherwise."""
    return WorkflowHistory.from_json(workflow_id or path.stem, data or path.read_text())


def renamed_activity(path: Path, index: int, name: str) -> WorkflowHistory:
    """The history at `path` with its `index`-th scheduled activity renamed to `name`."""
    data = json.loads(path.read_text())
    scheduled = [e for e in data["events"] if "activityTaskScheduledEventAttributes" in e]
    scheduled[index]["activityTaskScheduledEventAttributes"]["activityType"]["name"] = name
    return load(path, data)


def save(history: WorkflowHistory, name: str) -> None:
    """Write `history` as `histories/<name>.json`."""
    HISTORIES.mkdir(exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(history.to_json() + "\n", encoding="utf-8")


async def keep_history(handle: WorkflowHandle, name: str, update: bool) -> None:
    """With `--update-goldens`, record the run's history as `histories/<name>.json`."""
    if update:
        save(await handle.fetch_history(), name)
