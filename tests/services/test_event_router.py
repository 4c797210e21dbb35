"""The event router's in-process decisions (no Temporal needed): which events start which
journeys, which reach running journeys and live tasks, in what order; on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runtime.contracts import journey_id, task_workflow_id
from services import event_router
from services.event_router import plan_routes, stored_events
from store.registry import RulesetVersion, VersionStatus
from store.session import session_scope
from store.work import Task
from tests.workflows.journey_support import activate, add_customer, store_event

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
RULES = """\
ruleset rt
  timezone "Asia/Shanghai"

journey big_transfer
  on event transfer.completed where event.amount >= 200_000 and event.currency == "CNY"
  category service
  exit on event account.closed
  wait up to 3 days for event app.login
    on timeout
      send sms "app_activation_sms"

journey welcome
  on event account.opened
  category service
  send sms "app_activation_sms"
"""


@pytest.fixture
def routed(session_factory):
    """route(*events) -> {workflow id: [(start | signal, event id), ...]}."""
    activate(session_factory, RULES)

    def route(*events):
        with session_scope(session_factory) as session:
            routing = plan_routes(session, list(events), now=NOW)
        return {
            wid: [("start" if op.journey else "signal", op.signal.event_id) for op in ops]
            for wid, ops in routing.ops.items()
        }

    return route


def test_only_matching_triggers_start_and_listened_types_signal(session_factory, routed):
    sf = session_factory
    big = store_event(sf, "transfer.completed", "C1", NOW, amount=250_000, currency="CNY")
    text = store_event(sf, "transfer.completed", "C2", NOW, amount="300000.00", currency="CNY")
    small = store_event(sf, "transfer.completed", "C3", NOW, amount=5_000, currency="CNY")
    usd = store_event(sf, "transfer.completed", "C4", NOW, amount=250_000, currency="USD")
    broken = store_event(sf, "transfer.completed", "C5", NOW, amount="lots")
    login = store_event(sf, "app.login", "C6", NOW, channel="mobile")
    closed = store_event(sf, "account.closed", "C7", NOW)
    other = store_event(sf, "complaint.filed", "C8", NOW)
    assert routed(big, text, small, usd, broken, login, closed, other) == {
        journey_id("rt", "big_transfer", "C1"): [("start", big.id)],
        journey_id("rt", "big_transfer", "C2"): [("start", text.id)],  # decimal text counts
        journey_id("rt", "big_transfer", "C6"): [("signal", login.id)],  # it waits for logins
        journey_id("rt", "big_transfer", "C7"): [("signal", closed.id)],  # it exits on closing
    }


def test_one_workflows_calls_follow_the_events_occurrence(session_factory, routed):
    sf = session_factory
    closed = store_event(sf, "account.closed", "C1", NOW + timedelta(minutes=5))
    big = store_event(sf, "transfer.completed", "C1", NOW, amount=200_000, currency="CNY")
    opened = store_event(sf, "account.opened", "C1", NOW - timedelta(days=1))
    assert routed(closed, big, opened) == {
        journey_id("rt", "welcome", "C1"): [("start", opened.id)],
        journey_id("rt", "big_transfer", "C1"): [("start", big.id), ("signal", closed.id)],
    }


def test_transactions_reach_the_customers_live_tasks_only(session_factory, routed):
    sf = session_factory
    add_customer(sf, "C1")
    with session_scope(sf) as session:
        for key, status, due in [
            ("live", "open", NOW),
            ("late", "escalated", NOW),
            ("done", "done", NOW),
            ("note", "open", None),
        ]:
            session.add(
                Task(
                    idempotency_key=key,
                    kind="callback",
                    title="t",
                    assignee="sal",
                    customer_id="C1",
                    status=status,
                    due_at=due,
                    workflow_id="w",
                )
            )
    paid = store_event(sf, "card.transaction", "C1", NOW, amount=12)
    login = store_event(sf, "app.login", "C1", NOW)
    someone_else = store_event(sf, "customer.transacted", "C2", NOW)
    routes = routed(paid, login, someone_else)
    assert routes[task_workflow_id("live")] == [("signal", paid.id)]
    assert routes[task_workflow_id("late")] == [("signal", paid.id)]
    assert not {task_workflow_id("done"), task_workflow_id("note")} & routes.keys()


def test_retired_versions_route_nothing_and_plans_compile_once(session_factory, routed):
    sf = session_factory
    big = store_event(sf, "transfer.completed", "C1", NOW, amount=250_000, currency="CNY")
    assert routed(big)
    with session_scope(sf) as session:
        first = event_router.active_journeys(session)
        assert event_router.active_journeys(session)[0] is first[0]  # cached per version
        session.query(RulesetVersion).update({"status": VersionStatus.RETIRED})
    assert routed(big) == {}
    with session_scope(sf) as session:
        assert [e.id for e in stored_events(session, [big.idempotency_key, "unknown"])] == [big.id]
        assert stored_events(session, []) == []
