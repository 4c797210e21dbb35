"""1,000 tickets with random pause/resume/reassign/respond sequences, checked against an
independent calculation from the calendar: due times, when each rung fires, never twice for
the same breach, never while paused. A sample runs through the real workflow as well.

The independent calculation does not use the clock model: it reads holidays through
`calendars.official.get_calendar("CN")` (the `chinesecalendar` package) and counts business
time with `calendars.business.BusinessCalendar`, from the list of pauses the test generated.
The 1,000 run the pure engine the way the workflow drives it (jump to the next wake-up, fire,
apply the next action); 12 more run on the time-skipping server with SQLite.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from functools import cache

import pytest
import sqlalchemy as sa
from temporalio.client import WorkflowHandle
from ticket_support import TZ, cn_calendar, fields, insert_ticket, rule, ticket_worker

import dsl
from calendars import get_calendar, parse_hours
from store.service_desk import TicketEscalation
from tests.workflows.temporal_support import terminate_if_running
from workflows.ticket_sla_engine import SlaEngine
from workflows.ticket_sla_types import SlaState, TicketAction, TicketSLAInput

HOURS = parse_hours("09:00", "18:00")
CN = get_calendar("CN")
TARGETS = {"first_response": 4 * 3600, "resolution": 3 * 9 * 3600}
RULES = """\
ruleset random_desk
  timezone "Asia/Shanghai"
  calendar CN

sla complaint
  applies to ticket where ticket.category == "complaint"
  hours business 09:00 to 18:00
  target normal: first_response 4 business hours, resolution 3 business days
  pause while ticket.status == "waiting_on_customer"
  escalate
    at 50% of first_response: notify ticket.assignee
    on breach of first_response: reassign to role team_lead
    at 75% of resolution: notify role team_lead
    on breach of resolution: notify role branch_manager
    4 hours after breach of resolution: notify user "cpo"
"""
FRACTION = {
    0: ("first_response", 0.5),
    1: ("first_response", 1.0),
    2: ("resolution", 0.75),
    3: ("resolution", 1.0),
}


@cache
def random_sla():
    return dsl.compile_source(RULES, "random_desk.rules").plan.slas[0]


def script(rng: random.Random, start: dt.datetime, steps: int, spread_h: float):
    """Random actions at increasing times: pause/resume alternate, reassign, one respond."""
    times = sorted(start + dt.timedelta(hours=rng.uniform(0, spread_h)) for _ in range(steps))
    paused, responded, out = False, False, []
    for when in times:
        choice = rng.random()
        if choice < 0.45:
            out.append((when, "resume" if paused else "wait_on_customer"))
            paused = not paused
        elif choice < 0.85 or responded:
            out.append((when, "reassign"))
        else:
            out.append((when, "respond"))
            responded = True
    return out


# -- the independent calculation -------------------------------------------------------------
def business(a: dt.datetime, b: dt.datetime) -> float:
    return CN.business_seconds_between(a, b, hours=HOURS, tz=TZ)


def active_periods(start, actions, end_at):
    """(begin, end|None) periods the SLA ran, from the pause/resume actions up to `end_at`."""
    periods, begin = [], start
    for when, name in actions:
        if when > end_at:
            break
        if name == "wait_on_customer" and begin is not None:
            periods.append((begin, when))
            begin = None
        elif name == "resume" and begin is None:
            begin = when
    return periods + ([(begin, None)] if begin is not None else [])


def instant(periods, amount: float) -> dt.datetime | None:
    """When `amount` business seconds have run over `periods` (None: not while they last)."""
    used = 0.0
    for begin, end in periods:
        span = business(begin, end) if end is not None else None
        if span is None or used + span >= amount:
            return CN.add_business_seconds(begin, amount - used, hours=HOURS, tz=TZ)
        used += span
    return None


def paused_at(start, actions, when) -> bool:
    return (
        all(
            end is not None and not (b <= when < end)
            for b, end in active_periods(start, actions, when)
        )
        or when < start
    )


# -- driving the engine the way the workflow does ---------------------------------------------
def run_engine(ticket_id: str, start: dt.datetime, actions, until: dt.datetime):
    engine = SlaEngine(
        TicketSLAInput(
            rule=rule(),
            sla=random_sla(),
            calendar=cn_calendar(2024, 2025, 2026),
            ticket=fields(ticket_id, start),
        )
    )
    engine.start(start)
    fired, queue = [], [*actions, (until, None)]
    for when, name in queue:
        while (wake := engine.next_wakeup(start)) is not None and wake <= when:
            start = wake
            change = engine.fire_due(start)
            fired += [(e, start) for e in (change.escalations if change else [])]
        start = when
        if name is not None:
            extra = {"assignee": f"agent{len(fired) % 3}"} if name == "reassign" else {}
            engine.apply(TicketAction(action=name, actor="amy", **extra), when)
            change = engine.fire_due(when)
            fired += [(e, when) for e in (change.escalations if change else [])]
    return engine, fired


def check_ticket(engine, start, actions, fired, end) -> None:
    responded = next((w for w, n in actions if n == "respond"), None)
    keys = [e.key for e, _ in fired]
    assert len(keys) == len(set(keys)), "an escalation fired twice"
    for escalation, when in fired:
        assert not paused_at(start, actions, when), "escalated while paused"
        rung = int(escalation.key.rsplit(":", 1)[1])
        if rung in FRACTION:
            name, share = FRACTION[rung]
            limit = responded if name == "first_response" and responded else end
            expected = instant(active_periods(start, actions, limit), TARGETS[name] * share)
            assert expected is not None and abs((when - expected).total_seconds()) < 1e-3
    view = engine.view(end)
    for state in view.clocks:
        if state.status in ("running", "paused"):
            due = instant(active_periods(start, actions, end), TARGETS[state.name])
            assert (state.due_at is None) == (due is None)
            assert due is None or abs((state.due_at - due).total_seconds()) < 1e-3
    expected_fired = {
        rung
        for rung, (name, share) in FRACTION.items()
        if (at := instant(active_periods(start, actions, end), TARGETS[name] * share)) is not None
        and at <= end
        and not (name == "first_response" and responded and responded <= at)
    }
    assert {int(e.key.rsplit(":", 1)[1]) for e, _ in fired} & set(FRACTION) == expected_fired


def test_one_thousand_random_tickets_against_the_calendar():
    rng = random.Random(20261001)
    for number in range(1000):
        start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
            minutes=rng.randrange(0, 600 * 24 * 60)
        )
        actions = script(rng, start, rng.randint(2, 12), spread_h=rng.choice([8, 48, 240]))
        end = actions[-1][0] + dt.timedelta(days=rng.choice([0, 2, 10]))
        engine, fired = run_engine(f"R{number}", start, actions, end)
        check_ticket(engine, start, actions, fired, end)


# -- a sample through the real workflow --------------------------------------------------------
pytestmark_async = pytest.mark.asyncio(loop_scope="session")


@pytestmark_async
async def test_random_sample_through_the_workflow(temporal_env, task_queue, session_factory):
    rng, env = random.Random(7), temporal_env
    now = await env.get_current_time()
    scripts = {
        f"W{n}": script(rng, now + dt.timedelta(minutes=1), rng.randint(3, 6), 30)
        for n in range(12)
    }
    calendar = cn_calendar(now.year - 1, now.year, now.year + 1)
    handles: dict[str, WorkflowHandle] = {}
    effective: dict[str, list] = {key: [] for key in scripts}
    async with ticket_worker(env.client, task_queue, session_factory, threads=12):
        try:
            for key in scripts:
                ticket = fields(key, now)
                insert_ticket(session_factory, ticket)
                inp = TicketSLAInput(
                    rule=rule(), sla=random_sla(), ticket=ticket, calendar=calendar
                )
                handles[key] = await env.client.start_workflow(
                    "TicketSLAWorkflow",
                    inp,
                    id=f"ticket:{key}",
                    task_queue=task_queue,
                    execution_timeout=dt.timedelta(days=30),
                )
            timeline = sorted(
                (when, key, name) for key, acts in scripts.items() for when, name in acts
            )
            for when, key, name in timeline:
                current = await env.get_current_time()
                if when > current:
                    await env.sleep(when - current)
                extra = {"assignee": "agent1"} if name == "reassign" else {}
                state = await handles[key].execute_update(
                    "act", TicketAction(action=name, actor="amy", **extra), result_type=SlaState
                )
                effective[key].append((state.as_of, name))  # the workflow's time of the step
            await env.sleep(dt.timedelta(days=4))
            end = await env.get_current_time()
            for key, handle in handles.items():
                state = await handle.query("sla_state", end, result_type=SlaState)
                await _check_sample(session_factory, key, now, effective[key], state, end)
        finally:
            await asyncio.gather(*(terminate_if_running(h) for h in handles.values()))


async def _check_sample(factory, key, start, actions, state: SlaState, end) -> None:
    with factory() as session:
        query = sa.select(TicketEscalation).where(TicketEscalation.ticket_id == key)
        rows = list(session.scalars(query))
    assert len({r.idempotency_key for r in rows}) == len(rows)
    responded = next((w for w, n in actions if n == "respond"), None)
    for row in rows:
        assert not paused_at(start, actions, row.escalated_at), (key, row.idempotency_key)
        rung = int(row.idempotency_key.rsplit(":", 1)[1])
        if rung in FRACTION:
            name, share = FRACTION[rung]
            limit = responded if name == "first_response" and responded else end
            expected = instant(active_periods(start, actions, limit), TARGETS[name] * share)
            # Timers fire at the instant; the server's clock runs on by milliseconds meanwhile.
            assert expected <= row.escalated_at < expected + dt.timedelta(seconds=5)
    for clock in state.clocks:
        if clock.status in ("running", "paused"):
            due = instant(active_periods(start, actions, end), TARGETS[clock.name])
            assert (clock.due_at is None) == (due is None), (key, clock)
            assert due is None or abs((clock.due_at - due).total_seconds()) < 1e-3
