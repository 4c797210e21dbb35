"""Event routing: which stored events reach which journey and task workflows in Temporal.

Events are filtered before they touch Temporal (DESIGN.md, scale rules). Each event of a batch
is matched in-process against the active journeys (`services.journey_catalog`): a journey
whose trigger type and `where` match is signalled-with-start (`JourneyWorkflow`, id
`journey_id(ruleset, journey, customer)`); a journey whose exits or waits name the event's type
gets the event as a plain signal, but only if the router started that journey for that
customer (a `journey_run` row, or a start earlier in the same batch); and a transaction event
is signalled to the customer's live tasks, whose `cancel when` may now hold. Everything else
never leaves the process (`skipped` counts the listened events held back). Each workflow's
signals go in event order; different workflows are reached concurrently.

The run index (`store.journey`) is how the router knows who has a run without asking Temporal:
without it, a journey that exits "on transaction" would cost a call per transaction (100 M a
day), nearly all NOT_FOUND. A row is written per signal-with-start and committed before the
call (`record_runs`: a crash in between wastes one signal later, never loses an event), read
in one query per batch, and dropped lazily when its signal is answered NOT_FOUND
(`forget_ended`), so an ended run costs at most one wasted call (see `RESTART_GRACE`).

Reentry: `reentry never` journeys start with the REJECT_DUPLICATE id reuse policy (and the
entry activity checks the audit log beyond Temporal's retention); the others may start again
once their run has closed, which a `reentry after` journey delays by holding its run open.
Routing is idempotent, so a batch resent after a failure is routed again safely: effects are
keyed by the trigger event, and workflows ignore an event they already received.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.journey_records import TRANSACTION_EVENTS, event_record
from runtime.contracts import EventSignal, JourneyInput, journey_id, task_workflow_id
from services.journey_catalog import ActiveJourney, active_journeys, matcher
from store import journey as journey_runs
from store.base import utcnow
from store.event import Event
from store.session import session_scope
from store.work import Task
from workflows.journey_types import EVENT_SIGNAL
from workflows.task_types import LIVE

AT_ONCE = 50  # workflows reached concurrently per batch
# A NOT_FOUND keeps a row started this recently: it may have raced a restart of the same id by
# a concurrent batch, whose new run must keep its row. Longer than a commit-to-start delay plus
# the clock skew between API nodes (rows carry their node's wall clock).
RESTART_GRACE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Op:
    """One Temporal call: signal-with-start a journey (`journey` set) or a plain signal."""

    signal: EventSignal
    journey: ActiveJourney | None = None
    customer_id: str | None = None


@dataclass
class Routing:
    """The calls of one batch, per workflow id, in event order."""

    ops: dict[str, list[Op]] = field(default_factory=lambda: defaultdict(list))
    skipped: int = 0  # listened events held back: the customer has no run of that journey

    def __len__(self) -> int:
        return sum(len(ops) for ops in self.ops.values())

    def runs(self, at: dt.datetime) -> list[dict[str, Any]]:
        """The `journey_run` rows of the journeys this batch signals-with-start."""
        return [
            {"workflow_id": wid, "ruleset": op.journey.rule.ruleset,
             "journey": op.journey.rule.rule, "customer_id": op.customer_id, "started_at": at}
            for wid, ops in self.ops.items() for op in ops if op.journey is not None
        ]  # fmt: skip


def plan_routes(session: Session, events: Sequence[Event], *, now: dt.datetime) -> Routing:
    """Decide, in-process, which workflows each event reaches (no Temporal call yet)."""
    journeys, routing = active_journeys(session), Routing()
    listening: set[str] = set()  # journey ids a listened event would be signalled to
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.id))
    matchers = {id(j): matcher(j, now) for j in journeys}
    for event in ordered:
        signal, record = EventSignal(event_id=event.id, type=event.type), None
        for journey in journeys:
            wid = journey_id(journey.rule.ruleset, journey.rule.rule, event.customer_id)
            if event.type == journey.event:
                record = record if record is not None else event_record(event)
                if matchers[id(journey)](record):
                    routing.ops[wid].append(Op(signal, journey, event.customer_id))
                    continue
            if event.type in journey.listens:
                routing.ops[wid].append(Op(signal))
                listening.add(wid)
    _hold_back_unstarted(session, routing, listening)
    paying = [e for e in ordered if e.type in TRANSACTION_EVENTS]
    if paying:
        tasks = session.execute(
            sa.select(Task.idempotency_key, Task.customer_id).where(
                Task.customer_id.in_({e.customer_id for e in paying}),
                Task.status.in_(LIVE),
                Task.due_at.is_not(None),  # notices and escalation rows have no follow-up
            )
        ).all()
        by_customer = defaultdict(list)
        for key, customer_id in tasks:
            by_customer[customer_id].append(task_workflow_id(key))
        for event in paying:
            for wid in by_customer[event.customer_id]:
                routing.ops[wid].append(Op(EventSignal(event_id=event.id, type=event.type)))
    return routing


def _hold_back_unstarted(session: Session, routing: Routing, listening: set[str]) -> None:
    """Drop listened events for ids with no run row and no start earlier in this batch."""
    known = journey_runs.existing(session, listening) if listening else set()
    for wid in listening:
        ops, kept, started = routing.ops[wid], [], wid in known
        for op in ops:
            started = started or op.journey is not None
            if started:
                kept.append(op)
        routing.skipped += len(ops) - len(kept)
        if kept:
            routing.ops[wid] = kept
        else:
            del routing.ops[wid]


def record_runs(session: Session, routing: Routing) -> None:
    """Index the runs `routing` starts; commit this before `deliver` makes the calls."""
    journey_runs.record(session, routing.runs(utcnow()))


@dataclass
class RouteReport:
    started: int = 0  # journeys started or, when already running, signalled by start
    signalled: int = 0
    not_running: int = 0  # signals answered NOT_FOUND: that journey or task run has ended
    refused: int = 0  # `reentry never` journeys the customer went through before
    skipped: int = 0  # listened events never sent: the customer has no run of the journey
    gone: list[str] = field(default_factory=list, repr=False)  # the NOT_FOUND workflow ids
    began_at: dt.datetime = field(default_factory=utcnow, repr=False)

    def counts(self) -> dict[str, int]:
        """The report's counts, as `POST /v1/events` answers them."""
        return {"started": self.started, "signalled": self.signalled,
                "not_running": self.not_running, "refused": self.refused,
                "skipped": self.skipped}  # fmt: skip


async def deliver(client: Client, routing: Routing, *, task_queue: str) -> RouteReport:
    """Make the Temporal calls `routing` decided; one workflow's calls stay in order."""
    report, gate = RouteReport(skipped=routing.skipped), asyncio.Semaphore(AT_ONCE)

    async def reach(wid: str, ops: list[Op]) -> None:
        async with gate:
            for op in ops:
                if op.journey is not None:
                    await _start(client, wid, op, task_queue, report)
                    continue
                try:
                    await client.get_workflow_handle(wid).signal(EVENT_SIGNAL, op.signal)
                    report.signalled += 1
                except RPCError as exc:
                    if exc.status != RPCStatusCode.NOT_FOUND:
                        raise
                    report.not_running += 1
                    report.gone.append(wid)

    await asyncio.gather(*(reach(wid, ops) for wid, ops in routing.ops.items()))
    return report


async def _start(client: Client, wid: str, op: Op, task_queue: str, report: RouteReport) -> None:
    journey, signal = op.journey, op.signal
    assert journey is not None and op.customer_id is not None
    start = JourneyInput(
        rule=journey.rule, customer_id=op.customer_id, event_id=signal.event_id, **journey.input
    )
    policy = (
        WorkflowIDReusePolicy.REJECT_DUPLICATE
        if journey.reentry_never
        else WorkflowIDReusePolicy.ALLOW_DUPLICATE
    )
    try:
        await client.start_workflow(
            "JourneyWorkflow",
            start,
            id=wid,
            task_queue=task_queue,
            id_reuse_policy=policy,
            start_signal=EVENT_SIGNAL,
            start_signal_args=[signal],
        )
        report.started += 1
    except WorkflowAlreadyStartedError:
        report.refused += 1


def stored_events(session: Session, keys: Sequence[str]) -> list[Event]:
    """The stored events of a batch, by their idempotency keys (new and resent alike)."""
    if not keys:
        return []
    return list(session.scalars(sa.select(Event).where(Event.idempotency_key.in_(list(keys)))))


def forget_ended(session: Session, report: RouteReport) -> int:
    """Delete the run rows of the journeys `report` found ended (lazy cleanup)."""
    before = report.began_at - RESTART_GRACE  # read at call time: tests may shorten it
    return journey_runs.forget(session, report.gone, started_before=before)


async def route_events(
    factory: sessionmaker[Session],
    client: Client,
    events: Sequence[Event],
    *,
    task_queue: str,
    now: dt.datetime | None = None,
) -> RouteReport:
    """Route stored events: decide in-process, index the starts, then make only those calls."""
    with session_scope(factory) as session:
        routing = plan_routes(session, events, now=now or utcnow())
        record_runs(session, routing)  # committed before any Temporal call
    report = await deliver(client, routing, task_queue=task_queue)
    if report.gone:
        with session_scope(factory) as session:
            forget_ended(session, report)
    return report
