"""The activities of a campaign run: count and split the audience, deliver a page, resend
what quiet hours deferred.

The audience is the campaign's compiled SQL clause (`dsl.sqlclause.to_clause`) evaluated in the
database as of the run's fire time, `today` being that instant's date in the campaign's time
zone. Pages are keyset pages (`customer.id > cursor ORDER BY id LIMIT n`), so the customer
table is never loaded into Python and a page costs the same at any depth. Each page's sends go
through `delivery.deliverer.Deliverer`, whose outbox key (root run, step, customer) makes a
retried page resend nothing it already sent; `task` and `notify` actions open tasks through
`activities.tasks` under the same keys. Results carry counts and cursors only: no customer data
crosses into workflow history. The page activities are async (opening a task starts its
follow-up workflow with the activity's client) and do their database and HTTP work in threads;
count and bounds are sync and run in the worker's activity thread pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.campaign_audience import audience_query, deferred_rows, next_deferred_due
from activities.journey import deferred_at
from activities.tasks import TaskActivities
from dsl.local_time import LocalRun
from dsl.plan import SendStep, TaskStep
from workflows.campaign_types import (
    COUNT_AUDIENCE,
    DELIVER_DEFERRED,
    DELIVER_PAGE,
    PARTITION_BOUNDS,
    AudienceRequest,
    BoundsRequest,
    CountRequest,
    DeferredRequest,
    PageRequest,
    PageResult,
    add_counts,
)
from workflows.task_types import NotifyRequest, OpenTasksRequest

# Sends per Deliverer call: the activity heartbeats between chunks, so a dead worker's page is
# retried after the heartbeat timeout instead of the whole start-to-close budget.
CHUNK = 100


class CampaignActivities:
    """The campaign activities, bound to a database and a Deliverer built once per worker."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        deliverer: Any,
        settings: Any = None,
        *,
        tasks: TaskActivities | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.deliverer = deliverer
        self.settings = settings
        # `task` and `notify` actions open tasks exactly as journeys do (activities.tasks).
        self.tasks = tasks or TaskActivities(session_factory, deliverer, settings)

    def activities(self) -> list[Callable[..., Any]]:
        """The bound activity methods, to pass to `Worker(activities=...)`."""
        return [
            self.count_audience,
            self.partition_bounds,
            self.deliver_page,
            self.deliver_deferred,
        ]

    @activity.defn(name=COUNT_AUDIENCE.name)
    def count_audience(self, request: CountRequest) -> int:
        """How many customers the audience holds, counting no further than `up_to`."""
        ids = audience_query(request.audience).limit(request.up_to).subquery()
        with self.session_factory() as session:
            return session.scalar(sa.select(sa.func.count()).select_from(ids)) or 0

    @activity.defn(name=PARTITION_BOUNDS.name)
    def partition_bounds(self, request: BoundsRequest) -> list[str]:
        """Inclusive upper id bounds splitting the audience into `partitions` equal ranges."""
        query = audience_query(request.audience)
        bounds: list[str] = []
        with self.session_factory() as session:
            total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
            for k in range(1, request.partitions):
                offset = max(total * k // request.partitions - 1, 0)
                bound = session.scalar(query.offset(offset).limit(1))
                # The audience may have shrunk since the count: drop empty or repeated ranges.
                if bound is not None and (not bounds or bound > bounds[-1]):
                    bounds.append(bound)
        return bounds

    @activity.defn(name=DELIVER_PAGE.name)
    async def deliver_page(self, request: PageRequest) -> PageResult:
        """Select the next keyset page of the audience and carry out every action for it."""
        ids, done = await asyncio.to_thread(self._select_page, request)
        counts, due = await self._act(request.audience, {None: ids}, request.now)
        return PageResult(
            cursor=ids[-1] if ids else request.after_id,
            counts=add_counts({"selected": len(ids)}, counts),
            deferred_until=due,
            done=done,
        )

    def _select_page(self, request: PageRequest) -> tuple[list[str], bool]:
        query = audience_query(request.audience, after_id=request.after_id)
        with self.session_factory() as session:  # closed before sending: see store.session
            # One id more than a page: whether this page is the last, without an empty page.
            ids = list(session.scalars(query.limit(request.page_size + 1)))
        return ids[: request.page_size], len(ids) <= request.page_size

    @activity.defn(name=DELIVER_DEFERRED.name)
    async def deliver_deferred(self, request: DeferredRequest) -> PageResult:
        """Send the next page of this run's deferred messages that are due by now."""
        rows = await asyncio.to_thread(self._deferred_page, request)
        by_step: dict[str | None, list[str]] = {}
        for _key, step, customer_id in rows:
            by_step.setdefault(step, []).append(customer_id)
        counts, _ = await self._act(request.audience, by_step, request.now)
        done = len(rows) < request.page_size
        due = await asyncio.to_thread(self._next_due, request) if done else None
        return PageResult(
            cursor=rows[-1][0] if rows else request.after_key,
            counts=counts,
            deferred_until=due,
            done=done,
        )

    def _deferred_page(self, request: DeferredRequest) -> list[tuple[str, str, str]]:
        with self.session_factory() as session:
            return deferred_rows(session, request)

    def _next_due(self, request: DeferredRequest) -> datetime | None:
        with self.session_factory() as session:
            return next_deferred_due(session, request)

    async def _act(
        self, audience: AudienceRequest, ids_by_step: dict[str | None, list[str]], now: datetime
    ) -> tuple[dict[str, int], datetime | None]:
        """Carry out the campaign's actions (all of them, or the named step's) for the ids."""
        counts: dict[str, int] = {}
        due: datetime | None = None
        for step in audience.campaign.actions:
            ids = ids_by_step.get(step.step, ids_by_step.get(None, []))
            for chunk in _chunks(ids, CHUNK):
                if isinstance(step, SendStep):
                    report = await asyncio.to_thread(self._send, audience, step, chunk, now)
                    counts = add_counts(counts, _report_counts(report))
                    for when in report.deferred.values():
                        at = deferred_at(when)
                        due = at if due is None else min(due, at)
                elif isinstance(step, TaskStep):
                    opened = await self.tasks.open_tasks(
                        OpenTasksRequest(
                            rule=audience.rule, step=step, root_run_id=audience.root_run_id,
                            customer_ids=list(chunk), calendar=audience.calendar,
                            timezone=audience.timezone, now=now,
                        )
                    )  # fmt: skip
                    counts = add_counts(counts, {"tasks": len(opened.task_ids)})
                else:  # notify: an in-app notice per customer for the step's recipient
                    notice = NotifyRequest(
                        rule=audience.rule, step=step, root_run_id=audience.root_run_id,
                        customer_ids=list(chunk), now=now,
                    )  # fmt: skip
                    noted = await asyncio.to_thread(self.tasks.notify, notice)
                    counts = add_counts(counts, {"notices": len(noted.task_ids)})
                activity.heartbeat()
        return counts, due

    def _send(self, audience: AudienceRequest, step: SendStep, ids: Sequence[str], now: datetime):
        return self.deliverer.send(
            rule=audience.rule,
            root_run_id=audience.root_run_id,
            step=step,
            customer_ids=ids,
            policy=audience.campaign.policy,
            caps=list(audience.campaign.caps),
            now=now,
            local=LocalRun.of_campaign(audience.campaign, audience.timezone, audience.as_of),
        )


def _report_counts(report: Any) -> dict[str, int]:
    return {
        "sent": report.sent,
        "suppressed": report.suppressed,
        "failed": report.failed,
        "duplicates": report.duplicates,
        "deferred": len(report.deferred),
    }


def _chunks(ids: Sequence[str], size: int) -> list[Sequence[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]
