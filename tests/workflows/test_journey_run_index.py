"""The journey run index against a real (time-skipping) Temporal: events a journey only listens
to reach Temporal only for customers the router started it for, counted at the client.

A client interceptor counts every start and signal the router makes. A transaction of a customer
with no run makes no call at all; one of a customer whose journey runs ends it (`exit on
event`); after the run has ended the next transaction costs one NOT_FOUND, which deletes the
row, and the one after makes no call again. A start and a listened event in the same batch both
arrive, in order.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    SignalWorkflowInput,
    StartWorkflowInput,
)

from runtime.contracts import journey_id
from services import event_router
from store.journey import JourneyRun
from tests.workflows.journey_support import (
    activate,
    add_customer,
    journey_handle,
    journey_state,
    journey_worker,
    poll,
    route,
    rows,
    store_event,
)
from workflows.journey_types import JourneyResult

pytestmark = pytest.mark.asyncio(loop_scope="session")

RULES = """\
ruleset ix
  timezone "Asia/Shanghai"

journey dormant
  on event account.opened
  category service
  exit on event card.transaction
  wait 30 days
  send sms "app_activation_sms"
"""


class Calls(Interceptor):
    """Counts the starts and signals a client sends (`calls["start"]`, `calls["signal"]`)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Counting(next, self.calls)


class _Counting(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, calls: Counter[str]) -> None:
        super().__init__(next)
        self._calls = calls

    async def start_workflow(self, input: StartWorkflowInput) -> Any:
        self._calls["start"] += 1
        return await super().start_workflow(input)

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        self._calls["signal"] += 1
        await super().signal_workflow(input)


def counted(client: Client) -> tuple[Client, Counter[str]]:
    """A client on the same connection whose starts and signals are counted."""
    calls = Calls()
    return Client(**{**client.config(), "interceptors": [calls]}), calls.calls


def indexed(factory) -> list[str]:
    return [wid for (wid,) in rows(factory, sa.select(JourneyRun.workflow_id))]


async def test_listened_events_reach_only_runs_the_router_started(
    temporal_env, task_queue, session_factory, deliverer, monkeypatch
):
    env, sf = temporal_env, session_factory
    client, calls = counted(env.client)
    activate(sf, RULES, "ix")
    add_customer(sf, "C000071")
    now = await env.get_current_time()
    wid = journey_id("ix", "dormant", "C000071")
    async with journey_worker(env.client, task_queue, sf, deliverer):
        # No run for anyone yet: the transaction never reaches Temporal.
        paid = store_event(sf, "card.transaction", "C000071", now, amount=12)
        report = await route(client, sf, task_queue, paid, now=now)
        assert (report.signalled, report.not_running, report.skipped) == (0, 0, 1)
        assert calls == {} and indexed(sf) == []

        opened = store_event(sf, "account.opened", "C000071", now)
        assert (await route(client, sf, task_queue, opened, now=now)).started == 1
        assert indexed(sf) == [wid] and calls == {"start": 1}
        handle = journey_handle(env.client, "ix", "dormant", "C000071")
        await journey_state(handle, lambda s: s.status == "running")

        # The customer's journey runs: the transaction is signalled and ends it at once.
        await env.sleep(timedelta(days=1))
        paid = store_event(sf, "card.transaction", "C000071", now + timedelta(days=1), amount=9)
        report = await route(client, sf, task_queue, paid, now=now)
        assert (report.signalled, report.skipped) == (1, 0)
        result = await handle.result()
        assert (result.outcome, result.reason) == ("exited", "event card.transaction")

        # The run has ended: the next transaction costs one NOT_FOUND, which drops the row
        # (the grace for a racing restart is shortened: this run started a moment ago).
        monkeypatch.setattr(event_router, "RESTART_GRACE", timedelta(0))
        paid = store_event(sf, "card.transaction", "C000071", now + timedelta(days=2), amount=7)
        report = await route(client, sf, task_queue, paid, now=now)
        assert (report.signalled, report.not_running, report.skipped) == (0, 1, 0)
        assert indexed(sf) == [] and calls == {"start": 1, "signal": 2}

        # ... and the one after makes no call at all.
        paid = store_event(sf, "card.transaction", "C000071", now + timedelta(days=3), amount=5)
        report = await route(client, sf, task_queue, paid, now=now)
        assert (report.not_running, report.skipped) == (0, 1)
        assert calls == {"start": 1, "signal": 2}


async def test_a_start_and_a_listened_event_in_one_batch_both_arrive(
    temporal_env, task_queue, session_factory, deliverer
):
    env, sf = temporal_env, session_factory
    client, calls = counted(env.client)
    activate(sf, RULES, "ix")
    add_customer(sf, "C000072")
    now = await env.get_current_time()
    async with journey_worker(env.client, task_queue, sf, deliverer):
        before = store_event(sf, "card.transaction", "C000072", now - timedelta(minutes=1))
        opened = store_event(sf, "account.opened", "C000072", now)
        paid = store_event(sf, "card.transaction", "C000072", now + timedelta(minutes=1))
        report = await route(client, sf, task_queue, paid, opened, before, now=now)
        # The transaction before the opening had no run to reach: held back, not sent.
        assert (report.started, report.signalled, report.skipped) == (1, 1, 1)
        assert calls == {"start": 1, "signal": 1}
        wid = journey_id("ix", "dormant", "C000072")
        result = await env.client.get_workflow_handle(wid, result_type=JourneyResult).result()
    assert (result.outcome, result.reason) == ("exited", "event card.transaction")
    assert indexed(sf) == [wid]


async def test_a_run_started_without_its_row_indexes_itself_on_entry(
    temporal_env, task_queue, session_factory, deliverer
):
    # An API node from before the index (or a lost row) starts the journey without recording
    # it: the entry activity records it, so the run still gets the events it listens for.
    env, sf = temporal_env, session_factory
    activate(sf, RULES, "ix")
    add_customer(sf, "C000073")
    now = await env.get_current_time()
    wid = journey_id("ix", "dormant", "C000073")
    async with journey_worker(env.client, task_queue, sf, deliverer):
        opened = store_event(sf, "account.opened", "C000073", now)
        with session_factory() as session:
            routing = event_router.plan_routes(session, [opened], now=now)
        report = await event_router.deliver(env.client, routing, task_queue=task_queue)
        assert report.started == 1
        await poll(lambda: indexed(sf), lambda found: found == [wid])
        paid = store_event(sf, "card.transaction", "C000073", now, amount=3)
        assert (await route(env.client, sf, task_queue, paid, now=now)).signalled == 1
        handle = env.client.get_workflow_handle(wid, result_type=JourneyResult)
        assert (await handle.result()).outcome == "exited"
