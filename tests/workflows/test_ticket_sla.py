"""TicketSLAWorkflow on the time-skipping server with a real worker and SQLite: exact due times
over the National Day holiday, pausing, escalation exactly once, extensions, calendar edits,
continue-as-new, cancel and close.

The server's clock cannot go back to 2026-09-30 (see tests/workflows/ticket_support.py): the
exact 2026 timestamps run as a retroactive start, and the live, time-skipped run uses the same
holiday shape placed after the present, asserting timestamps computed from that shape.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest
import pytest_asyncio
import sqlalchemy as sa
from temporalio.client import WorkflowUpdateFailedError
from ticket_support import (
    SH,
    at,
    cn_calendar,
    fields,
    insert_ticket,
    mirrored_calendar,
    next_wednesday,
    sla,
    sla_input,
    ticket_worker,
)

from store.service_desk import TicketClock, TicketEscalation, TicketExtension
from store.work import Task, Ticket
from tests.workflows.temporal_support import terminate_if_running
from workflows import ticket_sla_clock as clock
from workflows.ticket_sla_types import SlaState, TicketAction

pytestmark = pytest.mark.asyncio(loop_scope="session")
HOUR = dt.timedelta(hours=1)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SH).astimezone(dt.UTC)


class Desk:
    """One test's tickets: start, act, query, read the database; terminates what it started."""

    def __init__(self, env, queue, factory) -> None:
        self.env, self.queue, self.factory, self.handles = env, queue, factory, []

    async def open(self, ticket, calendar, **overrides):
        insert_ticket(self.factory, ticket)
        handle = await self.env.client.start_workflow(
            "TicketSLAWorkflow",
            sla_input(ticket, calendar, **overrides),
            id=f"ticket:{ticket.id}",
            task_queue=self.queue,
            execution_timeout=dt.timedelta(days=60),
            result_type=SlaState,
        )
        self.handles.append(handle)
        await self.until(lambda s: s.get(Ticket, ticket.id).sla_seq >= 1)
        return handle

    async def act(self, handle, action: str, actor: str = "amy", **args) -> SlaState:
        return await handle.execute_update(
            "act", TicketAction(action=action, actor=actor, **args), result_type=SlaState
        )

    async def state(self, handle) -> SlaState:
        return await handle.query("sla_state", result_type=SlaState)

    async def sleep_until(self, when: dt.datetime) -> None:
        now = await self.env.get_current_time()
        if when > now:
            await self.env.sleep(when - now)

    async def until(self, check, timeout_s: float = 20.0):
        """Poll the database until `check(session)` is truthy (a deadline, not a fixed sleep)."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self.factory() as session:
                found = check(session)
            if found or time.monotonic() > deadline:
                assert found, "condition not reached before the deadline"
                return found
            await asyncio.sleep(0.05)

    def escalations(self, ticket_id: str) -> list[TicketEscalation]:
        with self.factory() as session:
            query = sa.select(TicketEscalation).where(TicketEscalation.ticket_id == ticket_id)
            return list(session.scalars(query.order_by(TicketEscalation.id)))

    async def close(self) -> None:
        for handle in self.handles:  # leave no timers on the shared server (conftest quirk)
            await terminate_if_running(handle)


@pytest_asyncio.fixture(loop_scope="session")
async def desk(temporal_env, task_queue, session_factory):
    built = Desk(temporal_env, task_queue, session_factory)
    async with ticket_worker(temporal_env.client, task_queue, session_factory):
        try:
            yield built
        finally:
            await built.close()


def clocks(state: SlaState) -> dict[str, object]:
    return {c.name: c for c in state.clocks}


async def test_complaint_of_2026_09_30_is_due_on_10_08_at_10_30(desk, temporal_env):
    now = await temporal_env.get_current_time()
    plain = sla().model_copy(update={"escalations": sla().escalations[:2]})  # notify, reassign
    ticket = fields("NAT-2026", now, reported_at=at(2026, 9, 30, 17, 30), assignee="bo")
    insert_ticket(desk.factory, ticket)
    handle = await temporal_env.client.start_workflow(
        "TicketSLAWorkflow",
        sla_input(ticket, cn_calendar(2026)).model_copy(update={"sla": plain}),
        id="ticket:NAT-2026",
        task_queue=desk.queue,
        execution_timeout=dt.timedelta(days=60),
    )
    desk.handles.append(handle)
    await desk.until(lambda s: s.get(Ticket, "NAT-2026").sla_seq >= 2)
    state = clocks(await desk.state(handle))
    assert state["first_response"].due_at == at(2026, 10, 8, 10, 30)
    assert state["resolution"].due_at == at(2026, 10, 13, 17, 30)  # Saturday 10-10 is worked
    assert state["first_response"].breached and state["resolution"].breached
    rows = desk.escalations("NAT-2026")
    assert [(r.trigger, r.action) for r in rows] == [
        ("at_percent", "notify"),
        ("on_breach", "reassign"),
        ("deadline", "notify"),
    ]
    # The person notified gets a task; the roles (team_lead, compliance) see their queues.
    with desk.factory() as session:
        notices = session.execute(
            sa.select(Task.assignee, Task.kind, Task.title).where(Task.kind == "ticket_notice")
        ).all()
    assert notices == [("bo", "ticket_notice", "ticket NAT-2026: SLA warning (first_response)")]
    await desk.act(handle, "respond")
    assert len(desk.escalations("NAT-2026")) == 3


async def test_live_holiday_week_pause_and_a_single_breach(desk, temporal_env):
    wednesday = next_wednesday(await temporal_env.get_current_time())
    thursday_after = wednesday + dt.timedelta(days=8)  # the first workday after the holiday
    opened = local(wednesday, 17, 30)
    await desk.sleep_until(opened)
    handle = await desk.open(fields("LIVE-1", opened), mirrored_calendar(wednesday))
    state = clocks(await desk.state(handle))
    assert state["first_response"].due_at == local(thursday_after, 10, 30)
    # 45 business hours: 0.5 + Thu 9 + Fri 9 + make-up Saturday 9 + Mon 9 + Tue 8.5 -> 17:30.
    assert state["resolution"].due_at == local(wednesday + dt.timedelta(days=13), 17, 30)

    await desk.sleep_until(local(thursday_after, 9, 45))
    [warning] = desk.escalations("LIVE-1")
    assert warning.trigger == "at_percent"
    assert local(thursday_after, 9, 30) <= warning.escalated_at < local(thursday_after, 9, 31)

    before = {c.name: c.due_at for c in (await desk.state(handle)).clocks}
    paused_at = (await desk.act(handle, "wait_on_customer")).as_of
    await desk.sleep_until(local(thursday_after, 12))  # past 10:30 while paused
    assert len(desk.escalations("LIVE-1")) == 1  # no escalation while paused
    resumed = await desk.act(handle, "resume")
    cal = clock.WorkCalendar(mirrored_calendar(wednesday))
    shift = cal.between(paused_at, resumed.as_of)
    for item in resumed.clocks:
        assert cal.between(before[item.name], item.due_at) == pytest.approx(shift, abs=1e-3)

    breach = clocks(resumed)["first_response"].due_at
    await desk.sleep_until(breach + HOUR)
    await desk.act(handle, "reassign", assignee="bob")
    await desk.sleep_until(breach + 6 * HOUR)
    breaches = [r for r in desk.escalations("LIVE-1") if r.trigger == "on_breach"]
    assert len(breaches) == 1 and breaches[0].action == "reassign"
    assert breach <= breaches[0].escalated_at < breach + dt.timedelta(minutes=1)


async def test_extensions_named_employee_and_the_database_record(desk, temporal_env):
    now = await temporal_env.get_current_time()
    handle = await desk.open(fields("EXT-1", now, named_employee="eve"), cn_calendar(now.year))
    with pytest.raises(WorkflowUpdateFailedError):
        await desk.act(handle, "reassign", assignee="eve")
    await desk.act(handle, "acknowledge", actor="amy")
    with pytest.raises(WorkflowUpdateFailedError):
        await desk.act(handle, "extend", approver="amy")  # the handler approving herself
    first = await desk.act(handle, "extend", approver="cora")
    second = await desk.act(handle, "extend", approver="cora")
    with pytest.raises(WorkflowUpdateFailedError):
        await desk.act(handle, "extend", approver="cora")
    start = (await desk.state(handle)).started_at
    await desk.until(lambda s: s.get(Ticket, "EXT-1").sla_seq >= second.seq)  # written behind
    assert first.deadline.extensions[0].due_at == start + dt.timedelta(days=30)
    assert second.deadline.due_at == start + dt.timedelta(days=60)
    with desk.factory() as session:
        rows = session.scalars(sa.select(TicketExtension).order_by(TicketExtension.number)).all()
        assert [(r.number, r.mode, r.approver, r.requested_by) for r in rows] == [
            (1, "to", "cora", "amy"),
            (2, "by", "cora", "amy"),
        ]
        ticket = session.get(Ticket, "EXT-1")
        assert ticket.extensions == 2 and ticket.deadline_at == second.deadline.due_at
        assert ticket.assignee == "amy"


async def test_calendar_signal_moves_due_times(desk, temporal_env):
    wednesday = next_wednesday(await temporal_env.get_current_time())
    opened = local(wednesday, 17, 30)
    await desk.sleep_until(opened)
    plain = mirrored_calendar(wednesday).model_copy(update={"holidays": [], "workdays": []})
    handle = await desk.open(fields("CAL-1", opened), plain)
    assert clocks(await desk.state(handle))["first_response"].due_at == local(
        wednesday + dt.timedelta(days=1), 10, 30
    )
    await handle.signal("calendar", mirrored_calendar(wednesday))
    moved = local(wednesday + dt.timedelta(days=8), 10, 30)
    mirror = sa.select(TicketClock.due_at).where(
        TicketClock.ticket_id == "CAL-1", TicketClock.clock == "first_response"
    )
    await desk.until(lambda session: session.scalar(mirror) == moved)
    assert clocks(await desk.state(handle))["first_response"].due_at == moved


async def test_continue_as_new_keeps_the_clocks_and_the_fired_rungs(desk, temporal_env):
    now = await temporal_env.get_current_time()
    handle = await desk.open(
        fields("CAN-1", now), cn_calendar(now.year, now.year + 1), history_limit=40
    )
    first_run = (await handle.describe()).run_id
    for _ in range(6):
        await desk.act(handle, "wait_on_customer")
        await desk.act(handle, "resume")
    deadline = time.monotonic() + 20
    while (await handle.describe()).run_id == first_run:  # continues once its steps are written
        assert time.monotonic() < deadline, "did not continue as new"
        await asyncio.sleep(0.05)
    state = await desk.state(handle)
    assert state.seq == 13 and not state.paused
    await desk.sleep_until(clocks(state)["resolution"].due_at + HOUR)
    keys = [r.idempotency_key for r in desk.escalations("CAN-1")]
    assert len(keys) == len(set(keys)) and any(":resolution:" in k for k in keys)


async def test_withdraw_cancels_and_a_resolved_ticket_closes(desk, temporal_env):
    now = await temporal_env.get_current_time()
    gone = await desk.open(fields("END-1", now), cn_calendar(now.year))
    await desk.act(gone, "withdraw")
    assert (await gone.result()).cancelled
    done = await desk.open(
        fields("END-2", now), cn_calendar(now.year), reopen_window=dt.timedelta(days=1)
    )
    await desk.act(done, "respond")
    await desk.act(done, "resolve")
    await desk.sleep_until((await temporal_env.get_current_time()) + dt.timedelta(days=1, hours=1))
    assert (await done.result()).closed
    with desk.factory() as session:
        assert session.get(Ticket, "END-2").status == "closed"
        assert session.get(Ticket, "END-1").status == "withdrawn"
