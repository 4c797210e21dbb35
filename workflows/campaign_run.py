"""CampaignRunWorkflow: one run of a campaign, a generic interpreter over its CampaignSpec.

The run pages its audience by keyset (the page activity selects `id > cursor` with the
compiled SQL clause, so the customer table never enters Python), delivers each page through
one activity and keeps only counts and a cursor. The audience is evaluated as of the run's
fire time (`as_of`, fixed across pages, continue-as-new and partitions), deliveries against the
workflow's clock at each page (quiet hours). Sends deferred by quiet hours are sent when due:
the run sleeps until the earliest due time and passes over its deferred outbox rows again.
History stays bounded: continue-as-new every `pages_per_run` pages or when the server suggests
it; an audience above `partition_threshold` splits into child runs by customer-id range
(workflows.campaign_partition). Signals pause, resume and stop act between pages; the
`progress` query answers at any time. Every effect's idempotency key derives from
`root_run_id`, so repeating a run, a page or a partition never sends twice.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from runtime.contracts import CampaignRunInput, root_run_id_of
    from workflows import campaign_partition
    from workflows.campaign_options import page_options, query_options
    from workflows.campaign_types import (
        COUNT_AUDIENCE,
        DELIVER_DEFERRED,
        DELIVER_PAGE,
        AudienceRequest,
        CampaignProgress,
        CampaignRunResult,
        CountRequest,
        DeferredRequest,
        PageRequest,
        PageResult,
        PartitionProgress,
        add_counts,
    )

SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@workflow.defn(name="CampaignRunWorkflow")
class CampaignRunWorkflow:
    @workflow.init
    def __init__(self, input: CampaignRunInput) -> None:
        self.input = input
        self.stage = input.stage
        self.pages = input.pages_done
        self.counts = dict(input.counts)
        self.paused = input.paused
        self.stopped = False
        self.after_id = input.after_id
        self.deferred_until = input.deferred_until
        self.deferred_key = input.deferred_key
        self.partitions = campaign_partition.Partitions(self)
        self._pages_this_run = 0

    @workflow.signal
    async def pause(self) -> None:
        self.paused = True
        await self.partitions.forward("pause")

    @workflow.signal
    async def resume(self) -> None:
        self.paused = False
        await self.partitions.forward("resume")

    @workflow.signal
    async def stop(self) -> None:
        self.stopped = True
        await self.partitions.forward("stop")

    @workflow.signal
    def partition_progress(self, report: PartitionProgress) -> None:
        self.partitions.report(report)

    @workflow.query
    def progress(self) -> CampaignProgress:
        pages, counts = self.partitions.totals(self.pages, self.counts)
        return CampaignProgress(
            stage="stopped" if self.stopped else self.stage,  # type: ignore[arg-type]
            pages=pages,
            counts=counts,
            paused=self.paused,
            stopped=self.stopped,
            deferred_until=self.deferred_until,
            partitions=self.partitions.statuses(),
        )

    @workflow.run
    async def run(self, input: CampaignRunInput) -> CampaignRunResult:
        self.audience = AudienceRequest(
            rule=input.rule,
            campaign=input.campaign,
            root_run_id=root_run_id_of(input.root_run_id, workflow.info().workflow_id),
            timezone=input.timezone,
            as_of=input.as_of or fire_time(),
            calendar=input.calendar,
            id_low=input.id_low,
            id_high=input.id_high,
        )
        if self.stage == "start":
            self.stage = "pages"
            if not input.is_partition and input.partitions > 1:
                count = CountRequest(audience=self.audience, up_to=input.partition_threshold + 1)
                total = await workflow.execute_activity(
                    COUNT_AUDIENCE.name, count, result_type=int, **query_options()
                )
                if total > input.partition_threshold:
                    self.stage = "partitioned"
                    return await self.partitions.run()
        while self.stage == "pages" and not self.stopped:
            await self._deliver_page()
        while self.stage == "deferred" and not self.stopped:
            await self._deliver_deferred()
        return await self._finish()

    async def _unpaused(self) -> bool:
        """Wait while paused; False when the run was stopped instead."""
        await workflow.wait_condition(lambda: not self.paused or self.stopped)
        return not self.stopped

    async def _deliver_page(self) -> None:
        if not await self._unpaused():
            return
        request = PageRequest(
            audience=self.audience,
            after_id=self.after_id,
            page_size=self.input.page_size,
            now=workflow.now(),
        )
        result = await workflow.execute_activity(
            DELIVER_PAGE.name, request, result_type=PageResult, **page_options()
        )
        self._page_done(result)
        self.after_id = result.cursor or self.after_id
        if result.done:  # deferred sends left: wait for them; none: the run is done
            self.stage = "deferred" if self.deferred_until is not None else "done"
        await self._maybe_continue()

    async def _deliver_deferred(self) -> None:
        """One page of the pass over this run's deferred sends, once the earliest is due."""
        if self.deferred_key is None:  # a new pass starts when the earliest send is due
            if self.deferred_until is None:
                self.stage = "done"
                return
            delay = self.deferred_until - workflow.now()
            if delay.total_seconds() > 0:
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: self.stopped, timeout=delay)
        if not await self._unpaused():
            return
        request = DeferredRequest(
            audience=self.audience,
            after_key=self.deferred_key,
            page_size=self.input.page_size,
            now=workflow.now(),
        )
        result = await workflow.execute_activity(
            DELIVER_DEFERRED.name, request, result_type=PageResult, **page_options()
        )
        self._page_done(result)
        if result.done:  # the pass is over: sleep until what is still deferred is due
            self.deferred_key, self.deferred_until = None, result.deferred_until
        else:
            self.deferred_key = result.cursor
        await self._maybe_continue()

    def _page_done(self, result: PageResult) -> None:
        self.pages += 1
        self._pages_this_run += 1
        self.counts = add_counts(self.counts, result.counts)
        if self.stage == "pages" and result.deferred_until is not None:
            due = result.deferred_until
            self.deferred_until = min(due, self.deferred_until or due)

    async def _maybe_continue(self) -> None:
        """Continue as new every `pages_per_run` pages, or sooner if the server suggests it."""
        suggested = workflow.info().is_continue_as_new_suggested()
        if self._pages_this_run < self.input.pages_per_run and not suggested:
            return
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.stopped or self.stage == "done":
            return  # the run ends here instead
        await campaign_partition.report_to_parent(self)
        workflow.continue_as_new(
            self.input.model_copy(
                update={
                    "root_run_id": self.audience.root_run_id,
                    "as_of": self.audience.as_of,
                    "stage": self.stage,
                    "after_id": self.after_id,
                    "pages_done": self.pages,
                    "counts": self.counts,
                    "paused": self.paused,
                    "deferred_until": self.deferred_until,
                    "deferred_key": self.deferred_key,
                }
            )
        )

    async def _finish(self) -> CampaignRunResult:
        await workflow.wait_condition(workflow.all_handlers_finished)
        self.stage = "stopped" if self.stopped else "done"
        status = "stopped" if self.stopped else "completed"
        return CampaignRunResult(status=status, pages=self.pages, counts=self.counts)


def fire_time() -> datetime:
    """When this run was due: the schedule's nominal fire time, else the workflow's start."""
    # A catch-up fire after downtime still selects the audience of the day it was due.
    scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_START)
    return scheduled if scheduled is not None else workflow.now()
