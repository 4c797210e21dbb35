"""What the journey, task and router tests share: rule files activated as real plans, customers,
stored events routed the way `POST /v1/events` routes them, and a worker composed like the
production worker for the journey and task workflows.

Plans come from `dsl.compile_source` and are stored as active registry versions, so the router
finds them exactly as it finds released rulesets. `route` stores events and calls
`services.event_router.route_events` with the environment's client. `keep_history`
(tests/workflows/replay_support.py) records the histories the replay tests replay (`pytest
tests/workflows --update-goldens`).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities.journey import JourneyActivities
from activities.tasks import TaskActivities
from calendars import BusinessCalendar
from dsl.plan_ops import Plan
from runtime.contracts import journey_id
from services.event_router import RouteReport, route_events
from store.customer import Consent, Customer, Holding
from store.event import Event
from store.session import session_scope
from tests.workflows import registry_support
from tests.workflows.replay_support import keep_history as keep_history
from workflows.journey import JourneyWorkflow
from workflows.journey_types import JourneyResult, JourneyState
from workflows.task_followup import TaskFollowUpWorkflow

T = TypeVar("T")
_keys = itertools.count(1)


def activate(factory: sessionmaker[Session], source: str, name: str = "jt") -> Plan:
    """Compile `source` and store it as the active version 1 of its ruleset."""
    return registry_support.activate(factory, source, f"{name}.rules")


def add_customer(
    factory: sessionmaker[Session],
    cid: str,
    *,
    consents: tuple[str, ...] = ("sms",),
    products: tuple[str, ...] = (),
    **fields: Any,
) -> None:
    """A retail customer with an RM and a branch, marketing consent on `consents` channels."""
    now = datetime.now(UTC)
    row = {
        "id": cid,
        "name": f"客户{cid}",
        "kind": "retail",
        "status": "active",
        "tier": "mass",
        "level": 1,
        "locale": "zh_CN",
        "timezone": "Asia/Shanghai",
        "branch": "B01",
        "relationship_manager": "sal",
        "total_assets": Decimal("80000.00"),
        "balance": Decimal("1000.00"),
        "credit_limit": Decimal("0"),
        "balance_growth_90d": 0.0,
        "phone": f"+8613800{cid[-6:]:0>6}",
        "attributes": {},
        **fields,
    }
    with session_scope(factory) as session:
        session.add(Customer(**row))
        for channel in consents:
            session.add(
                Consent(
                    customer_id=cid,
                    channel=channel,
                    purpose="marketing",
                    granted=True,
                    source="branch",
                    granted_at=now,
                )
            )
        for product in products:
            session.add(Holding(customer_id=cid, product=product))


def add_holding(factory: sessionmaker[Session], cid: str, product: str) -> None:
    """The customer now holds `product` (as the nightly core sync would record it)."""
    with session_scope(factory) as session:
        session.add(Holding(customer_id=cid, product=product))


def store_event(
    factory: sessionmaker[Session], type_: str, cid: str, at: datetime, **payload: Any
) -> Event:
    """Insert one event row, as the ingest path stores it."""
    with session_scope(factory) as session:
        event = Event(
            type=type_,
            customer_id=cid,
            occurred_at=at,
            payload=payload,
            idempotency_key=f"test-{next(_keys)}",
        )
        session.add(event)
        session.flush()
        return event


async def route(
    client: Client,
    factory: sessionmaker[Session],
    task_queue: str,
    *events: Event,
    now: datetime | None = None,
) -> RouteReport:
    """Route stored events the way the ingest route does (run index included)."""
    return await route_events(factory, client, list(events), task_queue=task_queue, now=now)


def journey_worker(
    client: Client,
    task_queue: str,
    factory: sessionmaker[Session],
    deliverer: Any,
    calendars: Mapping[str, BusinessCalendar] | None = None,
) -> Worker:
    """A worker with the journey and task workflows and activities (use as `async with`)."""
    activities = [
        *JourneyActivities(factory, deliverer, None, calendars=calendars).activities(),
        *TaskActivities(factory, deliverer, None, calendars=calendars).activities(),
    ]
    return Worker(
        client,
        task_queue=task_queue,
        activities=activities,
        workflows=[JourneyWorkflow, TaskFollowUpWorkflow],
        activity_executor=ThreadPoolExecutor(4),
        max_concurrent_activities=4,
    )


async def poll(
    probe: Callable[[], Awaitable[T] | T], until: Callable[[T], bool], timeout: float = 10.0
) -> T:
    """Call `probe` until `until(result)` holds; fail with the last result at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if asyncio.iscoroutine(result):
            result = await result
        if until(result) or time.monotonic() > deadline:
            assert until(result), f"still {result!r} after {timeout}s"
            return result
        await asyncio.sleep(0.05)


def journey_handle(
    client: Client, ruleset: str, rule: str, cid: str
) -> WorkflowHandle[Any, JourneyResult]:
    """The handle of `cid`'s run of journey `ruleset`.`rule`, typed for its result."""
    return client.get_workflow_handle(journey_id(ruleset, rule, cid), result_type=JourneyResult)


async def journey_state(
    handle: WorkflowHandle[Any, JourneyResult], until: Callable[[JourneyState], bool]
) -> JourneyState:
    """The run's queried state once `until(state)` holds (polled with a deadline)."""
    return await poll(lambda: handle.query("state", result_type=JourneyState), until)


def rows(factory: sessionmaker[Session], query: sa.Select) -> list[Any]:
    """The rows of a query, read in a short transaction of its own."""
    with session_scope(factory) as session:
        return list(session.execute(query).all())
