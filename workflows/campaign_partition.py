"""Partitioning a large campaign run into child runs by customer-id range.

A root run whose audience exceeds `partition_threshold` asks for keyset quantiles of the
audience (one activity) and starts one child `CampaignRunWorkflow` per id range. The children
carry the root's `root_run_id` and fire time, so their idempotency keys and audience are
exactly those of an unpartitioned run: a partition retried, or a root run repeated, never sends
twice. The root forwards pause/resume/stop to its children, keeps their running totals (each
child reports at every continue-as-new) for the `progress` query, and sums their results.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.campaign_options import query_options
    from workflows.campaign_types import (
        PARTITION_BOUNDS,
        BoundsRequest,
        CampaignRunResult,
        PartitionProgress,
        PartitionStatus,
        add_counts,
    )

if TYPE_CHECKING:
    from workflows.campaign_run import CampaignRunWorkflow


class Partitions:
    """The child runs of one root run, their status and the signals forwarded to them."""

    def __init__(self, owner: CampaignRunWorkflow) -> None:
        self._owner = owner
        self._status: dict[str, PartitionStatus] = {}
        self._handles: dict[str, workflow.ChildWorkflowHandle] = {}

    async def run(self) -> CampaignRunResult:
        """Start one child per id range, wait for all of them and sum their results."""
        owner = self._owner
        request = BoundsRequest(audience=owner.audience, partitions=owner.input.partitions)
        bounds = await workflow.execute_activity(
            PARTITION_BOUNDS.name, request, result_type=list[str], **query_options()
        )
        edges = [owner.input.id_low, *bounds, owner.input.id_high]
        for index, (low, high) in enumerate(itertools.pairwise(edges), start=1):
            child_id = f"{workflow.info().workflow_id}:part{index}"
            child_input = owner.input.model_copy(
                update={
                    "is_partition": True,
                    "root_run_id": owner.audience.root_run_id,
                    "id_low": low,
                    "id_high": high,
                    "as_of": owner.audience.as_of,
                    "stage": "pages",
                    "paused": owner.paused,
                }
            )
            self._status[child_id] = PartitionStatus(workflow_id=child_id, id_low=low, id_high=high)
            self._handles[child_id] = await workflow.start_child_workflow(
                "CampaignRunWorkflow",
                child_input,
                id=child_id,
                result_type=CampaignRunResult,
                # A partition never outlives the run it belongs to.
                execution_timeout=workflow.info().execution_timeout,
            )
        # A signal that arrived while children were starting reached only the earlier ones.
        if owner.paused:
            await self.forward("pause")
        if owner.stopped:
            await self.forward("stop")
        outcomes = await asyncio.gather(
            *(self._wait(child_id) for child_id in self._handles), return_exceptions=True
        )
        failed = [str(outcome) for outcome in outcomes if isinstance(outcome, BaseException)]
        if failed:
            raise ApplicationError(
                f"{len(failed)} of {len(outcomes)} partitions failed: {failed[0]}",
                type="CampaignPartitionFailed",
            )
        await workflow.wait_condition(workflow.all_handlers_finished)
        owner.stage = "stopped" if owner.stopped else "done"
        pages, counts = self.totals(0, {})
        stopped = owner.stopped or any(s.status == "stopped" for s in self._status.values())
        return CampaignRunResult(
            status="stopped" if stopped else "completed", pages=pages, counts=counts
        )

    async def _wait(self, child_id: str) -> CampaignRunResult:
        try:
            result = await self._handles[child_id]
        except BaseException:
            self._status[child_id] = self._status[child_id].model_copy(update={"status": "failed"})
            raise
        self._status[child_id] = self._status[child_id].model_copy(
            update={"status": result.status, "pages": result.pages, "counts": result.counts}
        )
        return result

    async def forward(self, signal: str) -> None:
        """Send `signal` to every running child; one that just finished is no error."""
        for child_id, handle in list(self._handles.items()):
            if self._status[child_id].status != "running":
                continue
            try:
                await handle.signal(signal)
            except Exception as error:  # the child completed between the check and the signal
                workflow.logger.info("signal %s to %s not delivered: %s", signal, child_id, error)

    def report(self, progress: PartitionProgress) -> None:
        """Record a child's running totals (ignored once its final result is in)."""
        status = self._status.get(progress.workflow_id)
        if status is not None and status.status == "running":
            self._status[progress.workflow_id] = status.model_copy(
                update={"pages": progress.pages, "counts": progress.counts}
            )

    def totals(self, pages: int, counts: dict[str, int]) -> tuple[int, dict[str, int]]:
        """`pages` and `counts` plus every partition's latest totals."""
        for status in self._status.values():
            pages += status.pages
            counts = add_counts(counts, status.counts)
        return pages, counts

    def statuses(self) -> list[PartitionStatus]:
        return list(self._status.values())


async def report_to_parent(run: CampaignRunWorkflow) -> None:
    """A partition tells its root how far it got (called before each continue-as-new)."""
    parent = workflow.info().parent
    if not run.input.is_partition or parent is None:
        return
    progress = PartitionProgress(
        workflow_id=workflow.info().workflow_id, pages=run.pages, counts=run.counts
    )
    try:
        await workflow.get_external_workflow_handle(parent.workflow_id).signal(
            "partition_progress", progress
        )
    except Exception as error:  # progress is informative; the child's result is what counts
        workflow.logger.warning("progress not reported to %s: %s", parent.workflow_id, error)
