"""Tickets on Temporal: start a ticket's SLA workflow, send it actions, read its live state, and
bring running tickets onto an edited calendar.

A ticket's workflow id is `ticket:<ticket id>` and is never reused (REJECT_DUPLICATE), so
starting twice is one SLA. Actions are Temporal updates: the API answers with the state after
the step, and an `Idempotency-Key` becomes the update id, so a retried request is one step.
A refused action (wrong status, the named employee, no extension left) is a 409 with its code.
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from runtime.contracts import ticket_workflow_id
from services import tickets
from services.errors import ConflictError
from store.session import session_scope
from store.work import Ticket
from workflows import ticket_sla_types as t
from workflows.ticket_sla_engine import SlaEngine

log = logging.getLogger(__name__)
QUERY_TIMEOUT = dt.timedelta(seconds=3)  # a ticket whose worker is down answers no query
ENDED = ("closed", "withdrawn")


async def start(client: Client, inp: t.TicketSLAInput, task_queue: str) -> bool:
    """Start the ticket's SLA workflow; False when it already exists (or existed)."""
    try:
        await client.start_workflow(
            t.WORKFLOW,
            inp,
            id=ticket_workflow_id(inp.ticket.id),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"ticket {inp.ticket.id}: {inp.rule.ruleset} v{inp.rule.version} "
            f"sla {inp.rule.rule}",
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


def initial_state(inp: t.TicketSLAInput, now: dt.datetime) -> t.SlaState:
    """The state a just-started workflow computes (the engine is pure: same input, same state)."""
    engine = SlaEngine(inp)
    engine.start(now)
    return engine.view(now)


async def act(
    client: Client, workflow_id: str, action: t.TicketAction, update_id: str | None = None
) -> t.SlaState:
    """Send one action as an update; the SLA state after it. ConflictError when refused."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.execute_update(
            t.ACT_UPDATE, action, id=update_id, result_type=t.SlaState
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        code = cause.type if isinstance(cause, ApplicationError) else None
        raise ConflictError(str(cause.message if cause else exc), code=code) from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ConflictError("the ticket's SLA has ended", code="closed") from None
        raise


async def state(client: Client, workflow_id: str, at: dt.datetime) -> t.SlaState | None:
    """The live SLA state at `at`; None when the workflow is unknown to Temporal."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.query(
            t.STATE_QUERY, at, result_type=t.SlaState, rpc_timeout=QUERY_TIMEOUT
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def refresh_calendar(
    client: Client, session_factory: sessionmaker[Session], calendar: str, page: int = 500
) -> int:
    """Signal every running ticket on `calendar` a fresh snapshot; how many were signalled."""
    signalled, after = 0, ""
    while True:
        with session_scope(session_factory) as session:
            rows = list(
                session.scalars(
                    sa.select(Ticket)
                    .where(Ticket.workflow_id.is_not(None), Ticket.status.not_in(ENDED))
                    .where(Ticket.id > after)
                    .order_by(Ticket.id)
                    .limit(page)
                )
            )
            inputs = [(row.workflow_id, _snapshot(session, row, calendar)) for row in rows]
        for workflow_id, snapshot in inputs:
            if snapshot is None:
                continue
            try:
                await client.get_workflow_handle(workflow_id).signal(t.CALENDAR_SIGNAL, snapshot)
                signalled += 1
            except RPCError as exc:  # finished since the page was read: nothing to refresh
                log.info("calendar not sent to %s: %s", workflow_id, exc)
        if len(rows) < page:
            return signalled
        after = rows[-1].id


def _snapshot(session: Session, ticket: Ticket, calendar: str) -> t.CalendarSnapshot | None:
    inp = tickets.sla_input(session, ticket)
    return inp.calendar if inp is not None and inp.sla.calendar == calendar else None
