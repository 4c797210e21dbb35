"""JourneyWorkflow on the time-skipping server, started and signalled by the event router, with
the real Deliverer sending to a recording gateway: an exit event ends a 30-day wait at once,
a wait for an event takes its timeout path or its event, `if` branches on consent, a yearly
journey continues as new each year with fresh idempotency keys, and `reentry after` holds.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import httpx
import pytest
import sqlalchemy as sa

import dsl
from activities.journey import JourneyActivities
from api.app import create_app
from config.settings import Settings
from runtime.contracts import RuleRef, journey_id
from services.users import create_user
from store.audit import AuditEntry
from store.outbox import Message
from store.session import session_scope
from store.user import Role
from tests.workflows.journey_support import (
    activate,
    add_customer,
    add_holding,
    journey_handle,
    journey_state,
    journey_worker,
    keep_history,
    poll,
    route,
    rows,
    store_event,
)
from workflows.journey_types import EnterRequest, JourneyResult, JourneyState

pytestmark = pytest.mark.asyncio(loop_scope="session")

RULES = """\
ruleset jt
  title "journeys"
  timezone "Asia/Shanghai"
  calendar CN

journey closing
  on event account.opened where event.channel == "branch"
  category service
  exit on event account.closed
  wait 30 days
  send sms "birthday_sms"

journey login_nudge
  on event account.opened where event.channel == "mobile"
  category service
  wait up to 7 days for event app.login where event.channel == "mobile"
    on timeout
      send sms "app_activation_sms"
  if consent.push
    send push "welcome_push"
  else
    send sms "birthday_sms"

journey renewal
  on event card.transaction where event.product == "livestock_insurance"
  category service
  repeat yearly
  exit on event account.closed
  wait 350 days
  send sms "livestock_insurance_renewal_sms"

journey invite
  on event transfer.completed where event.amount >= 200_000
  category service
  exit when customer.holds("mortgage")
  exit on event complaint.filed where event.channel != "internal"
  wait 5 days
  send sms "mortgage_preapproval_sms"

journey once
  on event deposit.matured where event.amount > 0
  category service
  reentry never
  send sms "app_activation_sms"

journey cooling_off
  on event loan.applied
  category service
  reentry after 30 days
  send sms "app_activation_sms"
"""


def activate_plan():
    return dsl.compile_source(RULES, "jt.rules").plan


def sent(factory, cid: str) -> list[tuple[str, str]]:
    """(template, idempotency key) of the messages the outbox sent to `cid`, in order."""
    query = (
        sa.select(Message.template, Message.idempotency_key)
        .where(Message.customer_id == cid, Message.status == "sent")
        .order_by(Message.id)
    )
    return [tuple(r) for r in rows(factory, query)]


async def test_a_journey_exits_at_once_on_its_exit_event_mid_wait(
    temporal_env, task_queue, session_factory, deliverer, gateway, update_goldens
):
    env, sf = temporal_env, session_factory
    activate(sf, RULES)
    add_customer(sf, "C000001")
    add_customer(sf, "C000002")
    now = await env.get_current_time()
    async with journey_worker(env.client, task_queue, sf, deliverer):
        opened = store_event(sf, "account.opened", "C000001", now, channel="branch")
        elsewhere = store_event(sf, "account.opened", "C000002", now, channel="web")
        report = await route(env.client, sf, task_queue, opened, elsewhere, now=now)
        # Only the matching trigger reached Temporal; the web opening matched no `where`.
        assert (report.started, report.signalled, report.not_running) == (1, 0, 0)
        handle = journey_handle(env.client, "jt", "closing", "C000001")
        await journey_state(handle, lambda s: s.status == "running")

        await env.sleep(timedelta(days=1))
        closed = store_event(sf, "account.closed", "C000001", now + timedelta(days=1))
        report = await route(env.client, sf, task_queue, closed, now=now)
        # The closing journey runs; the renewal journey also exits on it but never started,
        # so the run index holds that signal back instead of Temporal answering NOT_FOUND.
        assert (report.signalled, report.not_running, report.skipped) == (1, 0, 1)
        result = await handle.result()
        described = await handle.describe()
        await keep_history(handle, "journey_exit_on_event", update_goldens)

    assert (result.outcome, result.reason) == ("exited", "event account.closed")
    assert described.close_time - described.start_time < timedelta(days=2)  # not 30 days
    assert sent(sf, "C000001") == [] and gateway.received == []
    entered = rows(
        sf, sa.select(AuditEntry.subject_id).where(AuditEntry.action == "journey.entered")
    )
    assert entered == [(journey_id("jt", "closing", "C000001"),)]


async def test_wait_for_event_takes_its_timeout_path_or_its_event_and_if_branches(
    temporal_env, task_queue, session_factory, deliverer, update_goldens
):
    env, sf = temporal_env, session_factory
    activate(sf, RULES)
    add_customer(sf, "C000011", consents=("sms",))  # logs in on the web only: times out
    add_customer(sf, "C000012", consents=("sms", "push"))  # logs in on mobile: no nudge
    now = await env.get_current_time()
    async with journey_worker(env.client, task_queue, sf, deliverer):
        starts = [
            store_event(sf, "account.opened", c, now, channel="mobile")
            for c in ("C000011", "C000012")
        ]
        assert (await route(env.client, sf, task_queue, *starts, now=now)).started == 2
        handles = [
            journey_handle(env.client, "jt", "login_nudge", c) for c in ("C000011", "C000012")
        ]
        for handle in handles:
            await journey_state(handle, lambda s: s.waiting_for == "app.login")

        await env.sleep(timedelta(days=1))
        later = now + timedelta(days=1)
        web = store_event(sf, "app.login", "C000011", later, channel="web")
        mobile = store_event(sf, "app.login", "C000012", later, channel="mobile")
        assert (await route(env.client, sf, task_queue, web, mobile, now=later)).signalled == 2
        # Handles not returned by `start_workflow` do not skip time: sleep past the timeout.
        await env.sleep(timedelta(days=7))
        results = [await h.result() for h in handles]
        times = [await h.describe() for h in handles]
        await keep_history(handles[0], "journey_wait_event_timeout_else", update_goldens)
        await keep_history(handles[1], "journey_wait_event_matched_if", update_goldens)

    assert [r.outcome for r in results] == ["completed", "completed"]
    assert [t for t, _ in sent(sf, "C000011")] == ["app_activation_sms", "birthday_sms"]
    assert [t for t, _ in sent(sf, "C000012")] == ["welcome_push"]
    assert times[0].close_time - times[0].start_time >= timedelta(days=7)  # waited it out
    assert times[1].close_time - times[1].start_time < timedelta(days=2)  # went on at login


async def test_a_yearly_journey_continues_as_new_each_year_until_it_exits(
    temporal_env, task_queue, session_factory, deliverer, update_goldens
):
    env, sf = temporal_env, session_factory
    activate(sf, RULES)
    add_customer(sf, "C000021")
    t0 = await env.get_current_time()
    async with journey_worker(env.client, task_queue, sf, deliverer):
        paid = store_event(
            sf,
            "card.transaction",
            "C000021",
            t0,
            product="livestock_insurance",
            amount=1200,
            merchant_category="insurance",
        )
        assert (await route(env.client, sf, task_queue, paid, now=t0)).started == 1
        handle = journey_handle(env.client, "jt", "renewal", "C000021")
        first_run = (await handle.describe()).run_id

        await env.sleep(timedelta(days=351))
        await poll(lambda: sent(sf, "C000021"), lambda s: len(s) == 1)
        await env.sleep(timedelta(days=366))  # past the anniversary and 350 days into year 2
        messages = await poll(lambda: sent(sf, "C000021"), lambda s: len(s) == 2)
        state = await handle.query("state", result_type=JourneyState)
        assert state.cycle == 1 and (await handle.describe()).run_id != first_run

        closed = store_event(sf, "account.closed", "C000021", t0 + timedelta(days=717))
        assert (await route(env.client, sf, task_queue, closed, now=t0)).signalled == 1
        result = await handle.result()
        first = env.client.get_workflow_handle(handle.id, run_id=first_run)
        await keep_history(first, "journey_yearly_continues_as_new", update_goldens)
        await keep_history(handle, "journey_yearly_second_year_exits", update_goldens)

    assert (result.outcome, result.cycle) == ("exited", 1)
    keys = [key for _, key in messages]
    assert keys[0].endswith(f"@{paid.id}|s2|C000021") and f"@{paid.id}/y1|" in keys[1]


async def test_exit_conditions_are_checked_when_an_event_arrives(
    temporal_env, task_queue, session_factory, deliverer, update_goldens
):
    env, sf = temporal_env, session_factory
    activate(sf, RULES)
    add_customer(sf, "C000041")
    add_customer(sf, "C000042")
    now = await env.get_current_time()
    async with journey_worker(env.client, task_queue, sf, deliverer):
        starts = [
            store_event(sf, "transfer.completed", c, now, amount="250000.00")
            for c in ("C000041", "C000042")
        ]
        assert (await route(env.client, sf, task_queue, *starts, now=now)).started == 2
        handles = [journey_handle(env.client, "jt", "invite", c) for c in ("C000041", "C000042")]
        # C000041 takes a mortgage (the core sync adds the holding), then files an internal
        # complaint: the event's own exit does not match, but `exit when` now holds.
        add_holding(sf, "C000041", "mortgage")
        internal = store_event(sf, "complaint.filed", "C000041", now, channel="internal")
        phone = store_event(sf, "complaint.filed", "C000042", now, channel="phone")
        assert (await route(env.client, sf, task_queue, internal, phone, now=now)).signalled == 2
        results = [await h.result() for h in handles]
        await keep_history(handles[0], "journey_exit_condition", update_goldens)

    assert [(r.outcome, r.reason) for r in results] == [
        ("exited", "condition"),
        ("exited", "event complaint.filed"),
    ]
    assert sent(sf, "C000041") == sent(sf, "C000042") == []


async def test_reentry_after_holds_the_run_so_a_new_trigger_does_not_start_it_again(
    temporal_env, task_queue, session_factory, deliverer, update_goldens
):
    env, sf = temporal_env, session_factory
    activate(sf, RULES)
    add_customer(sf, "C000031")
    now = await env.get_current_time()
    async with journey_worker(env.client, task_queue, sf, deliverer):
        first = store_event(sf, "loan.applied", "C000031", now)
        assert (await route(env.client, sf, task_queue, first, now=now)).started == 1
        handle = journey_handle(env.client, "jt", "cooling_off", "C000031")
        await journey_state(handle, lambda s: s.status == "holding")
        await env.sleep(timedelta(days=10))
        again = store_event(sf, "loan.applied", "C000031", now + timedelta(days=10))
        await route(env.client, sf, task_queue, again, now=now)  # reaches the holding run
        assert len(sent(sf, "C000031")) == 1
        await env.sleep(timedelta(days=21))
        await handle.result()  # the hold ended 30 days after entry
        await keep_history(handle, "journey_reentry_hold", update_goldens)
        late = store_event(sf, "loan.applied", "C000031", now + timedelta(days=31))
        assert (await route(env.client, sf, task_queue, late, now=now)).started == 1
        await poll(lambda: sent(sf, "C000031"), lambda s: len(s) == 2)
        # Leave nothing running on the shared test server: a timer firing for a queue no
        # worker polls any more would stop the server from skipping time for later tests.
        await handle.terminate("test over")


async def test_reentry_never_is_refused_by_temporal_and_by_the_audited_entry(
    temporal_env, task_queue, session_factory, deliverer, update_goldens
):
    env, sf = temporal_env, session_factory
    activate(sf, RULES)
    add_customer(sf, "C000051")
    now = await env.get_current_time()
    async with journey_worker(env.client, task_queue, sf, deliverer):
        first = store_event(sf, "deposit.matured", "C000051", now, amount=10_000)
        assert (await route(env.client, sf, task_queue, first, now=now)).started == 1
        wid = journey_id("jt", "once", "C000051")
        handle = env.client.get_workflow_handle(wid, result_type=JourneyResult)
        assert (await handle.result()).outcome == "completed"
        await keep_history(handle, "journey_send", update_goldens)
        again = store_event(sf, "deposit.matured", "C000051", now, amount=20_000)
        report = await route(env.client, sf, task_queue, again, now=now)
        assert (report.started, report.refused) == (0, 1)
    # Once Temporal's retention has forgotten the run, the audited entry still refuses it.
    spec = next(j for j in activate_plan().journeys if j.name == "once")
    request = EnterRequest(
        rule=RuleRef(ruleset="jt", version=1, plan_hash="h", rule="once"),
        entry=spec.entry,
        reentry_never=True,
        customer_id="C000051",
        event_id=again.id,
        workflow_id=wid,
        now=now,
        timezone="Asia/Shanghai",
    )
    refused = JourneyActivities(sf, deliverer).enter(request)
    assert (refused.entered, refused.reason) == (False, "reentry_never")
    assert [t for t, _ in sent(sf, "C000051")] == ["app_activation_sms"]


async def test_post_events_stores_routes_and_the_journey_runs(
    temporal_env, task_queue, session_factory, migrated_sqlite_url, deliverer
):
    env, sf = temporal_env, session_factory
    activate(sf, RULES)
    add_customer(sf, "C000061")
    with session_scope(sf) as session:
        _, key = create_user(session, "ada", Role.ADMIN)
    settings = Settings(database={"url": migrated_sqlite_url}, temporal={"task_queue": task_queue})
    app = create_app(settings)
    app.state.temporal = SimpleNamespace(get=lambda: _ready(env.client))
    now = await env.get_current_time()
    event = {
        "type": "deposit.matured",
        "customer_id": "C000061",
        "occurred_at": now.isoformat(),
        "idempotency_key": "e-61",
        "payload": {"amount": 50_000},
    }
    transport = httpx.ASGITransport(app=app)
    async with (
        journey_worker(env.client, task_queue, sf, deliverer),
        httpx.AsyncClient(transport=transport, base_url="http://api") as client,
    ):
        headers = {"Authorization": f"Bearer {key}"}
        response = await client.post("/v1/events", json={"events": [event]}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["routed"] == {
            "started": 1,
            "signalled": 0,
            "not_running": 0,
            "refused": 0,
            "skipped": 0,
        }
        handle = journey_handle(env.client, "jt", "once", "C000061")
        assert (await handle.result()).outcome == "completed"
        # Resending the batch is safe: the journey may not run again (`reentry never`).
        again = await client.post("/v1/events", json={"events": [event]}, headers=headers)
        assert again.json()["duplicates"] == 1 and again.json()["routed"]["refused"] == 1
        settings.temporal.enabled = False
        off = await client.post("/v1/events", json={"events": [event]}, headers=headers)
        assert off.status_code == 200 and off.json()["routed"] is None
    assert [t for t, _ in sent(sf, "C000061")] == ["app_activation_sms"]


async def _ready(client):
    return client
