"""Event routing: which stored events reach which journey and task workflows in Temporal.

Events are filtered before they touch Temporal (DESIGN.md, scale rules). For each active
ruleset version the journeys are compiled once per plan (`event_where` as a Python predicate)
and each event of a batch is matched in-process: a journey whose trigger type and `where`
match is signalled-with-start (`JourneyWorkflow`, id `journey_id(ruleset, journey, customer)`);
a journey whose exits or waits name the event's type gets the event as a plain signal, which
reaches it only if it runs for that customer (NOT_FOUND otherwise, counted, not an error); and
a transaction event is signalled to the customer's live tasks, whose `cancel when` may now
hold. Everything else never leaves the process. Each workflow's signals go in event order;
different workflows are reached concurrently.

Reentry: `reentry never` journeys start with the REJECT_DUPLICATE id reuse policy (and the
entry activity checks the audit log beyond Temporal's retention); the others may start again
once their run has closed, which a `reentry after` journey delays by holding its run open.
Routing is idempotent, so a batch resent after a failure is routed again safely: effects are
keyed by the trigger event, and workflows ignore an event they already received.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.journey_records import TRANSACTION_EVENTS, event_record
from dsl.plan_ops import Plan
from dsl.pyeval import Predicate, compile_predicate
from runtime.contracts import EventSignal, JourneyInput, RuleRef, journey_id, task_workflow_id
from store.event import Event
from store.registry import Ruleset, RulesetVersion, VersionStatus
from store.work import Task
from workflows.journey_types import EVENT_SIGNAL, listened_events
from workflows.task_types import LIVE

log = logging.getLogger(__name__)
AT_ONCE = 50  # workflows reached concurrently per batch


@dataclass(frozen=True)
class ActiveJourney:
    rule: RuleRef
    input: dict[str, Any]  # JourneyInput fields but the customer and event
    event: str
    where: Predicate | None
    listens: frozenset[str]
    reentry_never: bool


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

    def __len__(self) -> int:
        return sum(len(ops) for ops in self.ops.values())


_COMPILED: dict[tuple[str, int, str], list[ActiveJourney]] = {}


def active_journeys(session: Session) -> list[ActiveJourney]:
    """The journeys of every active ruleset version, compiled once per version."""
    rows = session.execute(
        sa.select(Ruleset.name, RulesetVersion.version, RulesetVersion.plan_hash, RulesetVersion.id)
        .join(Ruleset, Ruleset.id == RulesetVersion.ruleset_id)
        .where(RulesetVersion.status == VersionStatus.ACTIVE)
        .order_by(Ruleset.name)
    ).all()
    found = []
    for name, version, plan_hash, version_id in rows:
        key = (name, version, plan_hash or "")
        if key not in _COMPILED:
            data = session.scalar(
                sa.select(RulesetVersion.plan).where(RulesetVersion.id == version_id)
            )
            if len(_COMPILED) > 256:  # retired versions drop out; keep the cache small
                _COMPILED.clear()
            _COMPILED[key] = _compile(Plan.model_validate(data), version) if data else []
        found.extend(_COMPILED[key])
    return found


def _compile(plan: Plan, version: int) -> list[ActiveJourney]:
    return [
        ActiveJourney(
            rule=RuleRef(
                ruleset=plan.ruleset,
                version=version,
                plan_hash=plan.hash,
                rule=j.name,
                category=j.category,
            ),
            input={"journey": j, "timezone": plan.timezone, "calendar": plan.calendar},
            event=j.event,
            where=compile_predicate(j.event_where) if j.event_where is not None else None,
            listens=listened_events(j),
            reentry_never=j.reentry_never,
        )
        for j in plan.journeys
    ]


def plan_routes(session: Session, events: Sequence[Event], *, now: dt.datetime) -> Routing:
    """Decide, in-process, which workflows each event reaches (no Temporal call yet)."""
    journeys, routing = active_journeys(session), Routing()
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.id))
    matchers = {id(j): _bind(j, now) for j in journeys}
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


def _bind(journey: ActiveJourney, now: dt.datetime) -> Callable[[dict], bool]:
    if journey.where is None:
        return lambda record: True
    today = now.astimezone(ZoneInfo(journey.input["timezone"])).date()
    check = journey.where.bind(now, today)

    def matches(record: dict) -> bool:
        try:
            return bool(check(record))
        except (TypeError, KeyError, ValueError, ArithmeticError):
            return False  # an event without the field (or with the wrong type) does not match

    return matches


@dataclass
class RouteReport:
    started: int = 0  # journeys started or, when already running, signalled by start
    signalled: int = 0
    not_running: int = 0  # signals for a journey or task the customer has no run of
    refused: int = 0  # `reentry never` journeys the customer went through before


async def deliver(client: Client, routing: Routing, *, task_queue: str) -> RouteReport:
    """Make the Temporal calls `routing` decided; one workflow's calls stay in order."""
    report, gate = RouteReport(), asyncio.Semaphore(AT_ONCE)

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


async def route_events(
    session: Session,
    client: Client,
    events: Sequence[Event],
    *,
    task_queue: str,
    now: dt.datetime | None = None,
) -> RouteReport:
    """Route stored events: decide in-process, then signal(-with-start) only the matches."""
    routing = plan_routes(session, events, now=now or dt.datetime.now(dt.UTC))
    return await deliver(client, routing, task_queue=task_queue)
