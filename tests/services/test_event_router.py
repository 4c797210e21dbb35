"""The event router's in-process decisions (no Temporal needed): which events start which
journeys, which reach running journeys and live tasks, in what order; and the journey run index
behind "running": listened events only for indexed runs or starts earlier in the batch, rows
recorded idempotently (also concurrently), ended runs forgotten unless restarted recently; on
SQLite and PostgreSQL. tests/workflows/test_journey_run_index.py covers it against Temporal.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from runtime.contracts import journey_id, task_workflow_id
from services import event_router, journey_catalog
from services.event_router import plan_routes, stored_events
from store import journey as journey_runs
from store.journey import JourneyRun
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


def index(factory, *customers, at=NOW):
    """Index a `big_transfer` run for each customer, as a routed start would."""
    with session_scope(factory) as session:
        journey_runs.record(session, [
            {"workflow_id": journey_id("rt", "big_transfer", c), "ruleset": "rt",
             "journey": "big_transfer", "customer_id": c, "started_at": at}
            for c in customers
        ])  # fmt: skip


def indexed(factory) -> dict[str, datetime]:
    """The run index: started_at by workflow id."""
    with session_scope(factory) as session:
        return dict(session.execute(sa.select(JourneyRun.workflow_id, JourneyRun.started_at)).all())


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


def test_only_matching_triggers_start_and_listened_types_need_a_run(session_factory, routed):
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
    }  # C6's login and C7's closing are listened to, but neither customer has a run
    index(session_factory, "C6", "C7")
    assert routed(login, closed, other) == {
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
        first = journey_catalog.active_journeys(session)
        assert journey_catalog.active_journeys(session)[0] is first[0]  # cached per version
        session.query(RulesetVersion).update({"status": VersionStatus.RETIRED})
    assert routed(big) == {}
    with session_scope(sf) as session:
        assert [e.id for e in stored_events(session, [big.idempotency_key, "unknown"])] == [big.id]
        assert stored_events(session, []) == []


def test_listened_events_go_to_indexed_runs_and_to_starts_earlier_in_the_batch(
    session_factory, monkeypatch
):
    sf = session_factory
    activate(sf, RULES)
    monkeypatch.setattr(journey_runs, "CHUNK", 2)  # the index is read in chunks of ids
    index(sf, "C1", "C2", "C3")
    early = store_event(sf, "app.login", "C4", NOW - timedelta(minutes=1))
    big = store_event(sf, "transfer.completed", "C4", NOW, amount=300_000, currency="CNY")
    late = store_event(sf, "account.closed", "C4", NOW + timedelta(minutes=1))
    known = [store_event(sf, "app.login", c, NOW) for c in ("C1", "C2", "C3")]
    stranger = store_event(sf, "app.login", "C5", NOW)
    with session_scope(sf) as session:
        routing = plan_routes(session, [late, stranger, big, early, *known], now=NOW)
    calls = {
        wid: [("start" if op.journey else "signal", op.signal.event_id) for op in ops]
        for wid, ops in routing.ops.items()
    }
    # C4's login came before its start, when Temporal had no run to signal: held back too.
    assert calls == {
        journey_id("rt", "big_transfer", "C4"): [("start", big.id), ("signal", late.id)],
        **{journey_id("rt", "big_transfer", e.customer_id): [("signal", e.id)] for e in known},
    }
    assert routing.skipped == 2 and len(routing) == 5
    report = event_router.RouteReport(skipped=routing.skipped)
    counts = {"started": 0, "signalled": 0, "not_running": 0, "refused": 0, "skipped": 2}
    assert report.counts() == counts


def test_starts_are_recorded_once_per_run_and_refresh_its_start_time(session_factory):
    sf = session_factory
    activate(sf, RULES)
    first = store_event(sf, "transfer.completed", "C1", NOW, amount=300_000, currency="CNY")
    again = store_event(sf, "transfer.completed", "C1", NOW, amount=400_000, currency="CNY")
    opened = store_event(sf, "account.opened", "C2", NOW)
    login = store_event(sf, "app.login", "C3", NOW)
    with session_scope(sf) as session:
        routing = plan_routes(session, [first, again, opened, login], now=NOW)
        event_router.record_runs(session, routing)  # two starts of one run in one batch
    runs = indexed(sf)
    big, welcome = journey_id("rt", "big_transfer", "C1"), journey_id("rt", "welcome", "C2")
    assert set(runs) == {big, welcome}  # a listened event records nothing
    with session_scope(sf) as session:
        row = session.get(JourneyRun, big)
        assert (row.ruleset, row.journey, row.customer_id) == ("rt", "big_transfer", "C1")
        # Ids and a time only: the index never holds personal data.
        columns = {"workflow_id", "ruleset", "journey", "customer_id", "started_at"}
        assert set(JourneyRun.__table__.c.keys()) == columns
    with session_scope(sf) as session:  # a resent batch: no error, the start time moves on
        event_router.record_runs(session, plan_routes(session, [again], now=NOW))
    later = indexed(sf)
    assert set(later) == {big, welcome}
    assert later[big] > runs[big] and later[welcome] == runs[welcome]


def test_concurrent_batches_record_overlapping_runs_without_errors(session_factory):
    sf = session_factory
    ids = [f"C{n:03}" for n in range(60)]
    barrier, errors = threading.Barrier(4), []

    def ingest(order):
        try:
            barrier.wait()
            index(sf, *order)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    orders = [ids, ids[::-1], ids[::2] + ids[1::2], ids[30:] + ids[:30]]
    threads = [threading.Thread(target=ingest, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(indexed(sf)) == 60


def test_ended_runs_are_forgotten_unless_started_again_recently(session_factory, monkeypatch):
    sf = session_factory
    monkeypatch.setattr(journey_runs, "CHUNK", 2)
    index(sf, "C1", "C2", "C3", at=NOW - timedelta(hours=1))
    index(sf, "C4", at=NOW - timedelta(minutes=1))  # a start racing the NOT_FOUND below
    gone = [journey_id("rt", "big_transfer", c) for c in ("C1", "C2", "C4", "C9")]
    gone.append(task_workflow_id("some-task"))  # tasks have no rows: nothing to delete
    report = event_router.RouteReport(not_running=5, gone=gone, began_at=NOW)
    with session_scope(sf) as session:
        assert event_router.forget_ended(session, report) == 2
    assert set(indexed(sf)) == {
        journey_id("rt", "big_transfer", "C3"),  # signalled fine: not in `gone`
        journey_id("rt", "big_transfer", "C4"),  # restarted within RESTART_GRACE: kept
    }
    monkeypatch.setattr(event_router, "RESTART_GRACE", timedelta(0))
    with session_scope(sf) as session:
        assert event_router.forget_ended(session, report) == 1
        assert journey_runs.existing(session, gone) == set()
