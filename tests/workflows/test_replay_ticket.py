"""Replay of recorded TicketSLAWorkflow histories with the current workflow code.

A ticket's SLA runs for weeks (a complaint may be extended to 75 days), so a change to the
commands the workflow issues would break tickets in flight. Every history in
tests/workflows/histories/ticket_*.json must replay with the current code, and so must a
history recorded by this very run; `ticket_incompatible.json` was recorded from an older
workflow that recorded its start in two steps and must fail with a nondeterminism error: the
proof that replay catches such a change (which then goes behind `workflow.patched`).
`ticket_named_employee_acts_v1.json` and `ticket_late_start_v1.json` were recorded before the
two patched engine changes (the named employee may take no action; the action that starts a
late SLA meets first response): they replay only through the old branches. Re-record
after an intended, patched change with

    .venv/bin/python -m pytest tests/workflows/test_replay_ticket.py --update-goldens
"""

from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.worker import Replayer, Worker
from ticket_support import cn_calendar, fields, insert_ticket, sla_input, ticket_worker

from activities.tickets import TicketActivities
from tests.workflows import replay_support
from tests.workflows.replay_support import HISTORIES, load, save
from workflows.ticket_sla import TicketSLAWorkflow
from workflows.ticket_sla_engine import SlaEngine
from workflows.ticket_sla_types import (
    RECORD_ACTIVITY,
    RECORD_RETRY,
    RECORD_TIMEOUT,
    RecordBatch,
    SlaState,
    TicketAction,
    TicketRecord,
    TicketSLAInput,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
INCOMPATIBLE = HISTORIES / "ticket_incompatible.json"
RECORDED = sorted(p for p in HISTORIES.glob("ticket_*.json") if p != INCOMPATIBLE)


def replayer() -> Replayer:
    return replay_support.replayer(TicketSLAWorkflow)


async def keep(handle: WorkflowHandle, name: str, update: bool) -> WorkflowHistory:
    """The run's history, also recorded as `histories/<name>.json` with `--update-goldens`."""
    history = await handle.fetch_history()
    if update:
        save(history, name)
    return history


async def act(handle: WorkflowHandle, name: str) -> SlaState:
    return await handle.execute_update(
        "act", TicketAction(action=name, actor="amy"), result_type=SlaState
    )


async def test_histories_are_recorded() -> None:
    names = {p.stem for p in RECORDED}
    assert {"ticket_pause_breach_close", "ticket_continue_as_new"} <= names
    assert INCOMPATIBLE.exists()


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path) -> None:
    await replayer().replay_workflow(load(path))


async def test_incompatible_history_fails_to_replay() -> None:
    with pytest.raises(workflow.NondeterminismError):
        await replayer().replay_workflow(load(INCOMPATIBLE))


async def test_fresh_histories_replay(temporal_env, task_queue, session_factory, update_goldens):
    env = temporal_env
    now = await env.get_current_time()
    calendar = cn_calendar(now.year, now.year + 1)
    async with ticket_worker(env.client, task_queue, session_factory):
        ticket = fields("ticket_pause_breach_close", now)
        insert_ticket(session_factory, ticket)
        handle = await env.client.start_workflow(
            "TicketSLAWorkflow",
            sla_input(ticket, calendar, reopen_window=dt.timedelta(days=1)),
            id=ticket.id,
            task_queue=task_queue,
            execution_timeout=dt.timedelta(days=30),
            result_type=SlaState,
        )
        await act(handle, "acknowledge")
        await act(handle, "wait_on_customer")
        await env.sleep(dt.timedelta(days=1))
        resumed = await act(handle, "resume")
        await env.sleep(resumed.clocks[1].due_at - await env.get_current_time())
        await act(handle, "respond")
        await act(handle, "resolve")
        await env.sleep(dt.timedelta(days=1, hours=1))
        assert (await handle.result()).closed
        paused = await keep(handle, ticket.id, update_goldens)

        ticket = fields("ticket_continue_as_new", now)
        insert_ticket(session_factory, ticket)
        handle = await env.client.start_workflow(
            "TicketSLAWorkflow",
            sla_input(ticket, calendar, history_limit=30),
            id=ticket.id,
            task_queue=task_queue,
            execution_timeout=dt.timedelta(days=30),
        )
        first = handle.result_run_id
        for _ in range(5):
            await act(handle, "wait_on_customer")
            await act(handle, "resume")
        while (await handle.describe()).run_id == first:  # it continues once steps are written
            await asyncio.sleep(0.05)
        older = env.client.get_workflow_handle(ticket.id, run_id=first)
        continued = await keep(older, ticket.id, update_goldens)
        assert continued.events[-1].HasField("workflow_execution_continued_as_new_event_attributes")
        await handle.terminate()
    for history in (paused, continued):
        await replayer().replay_workflow(history)


@workflow.defn(name="TicketSLAWorkflow", sandboxed=False)
class OlderTicketSLA:
    """An older TicketSLAWorkflow: recorded "created" and "started" as two steps."""

    @workflow.run
    async def run(self, inp: TicketSLAInput) -> None:
        engine = SlaEngine(inp)
        for seq, action in ((1, "ticket.sla_created"), (2, "ticket.sla_started")):
            if seq == 2:
                engine.start(workflow.now())
            record = TicketRecord(
                ticket_id=inp.ticket.id,
                workflow_id=workflow.info().workflow_id,
                rule=inp.rule,
                seq=seq,
                at=workflow.now(),
                actor="system",
                action=action,
                state=engine.view(workflow.now()),
            )
            await workflow.execute_activity(
                RECORD_ACTIVITY,
                RecordBatch(records=[record]),
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
            )


async def test_record_incompatible_history(
    temporal_env, task_queue, session_factory, update_goldens
) -> None:
    """Recording the older workflow's history (kept with --update-goldens) and proving that
    the current code refuses it."""
    env = temporal_env
    ticket = fields("ticket_incompatible", await env.get_current_time())
    insert_ticket(session_factory, ticket)
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[OlderTicketSLA],
        activities=TicketActivities(session_factory).activities(),
        activity_executor=ThreadPoolExecutor(2),
    ):
        handle = await env.client.start_workflow(
            "TicketSLAWorkflow",
            sla_input(ticket, cn_calendar(ticket.opened_at.year)),
            id=ticket.id,
            task_queue=task_queue,
            execution_timeout=dt.timedelta(hours=1),
        )
        await handle.result()
        history = await keep(handle, ticket.id, update_goldens)
    with pytest.raises(workflow.NondeterminismError):
        await replayer().replay_workflow(history)
