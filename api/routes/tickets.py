"""Ticket routes: open, queue, inspect with the live SLA, and every service desk action.

`POST /v1/tickets` opens a ticket and starts its SLA workflow after the row committed (same id,
same content: the same ticket, 200). `GET /v1/tickets` is the queue (team, assignee, status,
breaching within N minutes, breached), read from the clock mirror. `GET /v1/tickets/{id}`
answers the live state of every clock from the workflow (`sla`), or `sla_error` when Temporal
does not answer. `POST /v1/tickets/{id}/<action>` sends the action to the workflow as an update
and answers the state after it (the ticket row once the workflow has written the step, which
follows within milliseconds); tickets no SLA applies to are changed in the database.

Routes release the authentication transaction first (`session.commit()`): on SQLite it holds
the write lock, and an action waits for the workflow's activity to write the ticket.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from pydantic import BaseModel

from api.deps import SessionDep, call_temporal
from api.params import Limit, Offset, offset_page
from api.permissions import allow
from api.problems import responses
from api.routes.tickets_schemas import (
    ActionResult,
    Escalate,
    Extend,
    Reassign,
    TicketDetail,
    TicketOut,
    ticket_out,
)
from api.schemas import Page
from runtime.temporal_client import TemporalUnavailableError
from services import tickets, tickets_queue, tickets_temporal
from services.actor import Actor
from store.session import session_scope

router = APIRouter(tags=["tickets"], responses=responses(404, 409, 503))
Reader = Annotated[Actor, allow("tickets.read")]
Opener = Annotated[Actor, allow("tickets.create")]
Worker = Annotated[Actor, allow("tickets.act")]
TicketId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]
IdempotencyKey = Annotated[str | None, Header(max_length=200, pattern=r"^[\x21-\x7e]+$")]


def _now() -> datetime:
    return datetime.now(UTC)


@router.post(
    "",
    response_model=ActionResult,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": ActionResult, "description": "The ticket already existed."}},
)
def open_ticket(
    request: Request,
    response: Response,
    body: tickets.NewTicket,
    session: SessionDep,
    actor: Opener,
) -> Any:
    """Open a ticket; the first SLA that applies starts its clocks (or none applies)."""
    session.commit()  # release the authentication transaction (see the module docstring)
    with session_scope(request.app.state.session_factory) as work:
        ticket, inp, created = tickets.open_ticket(work, actor, body, _now())
    if not created:
        response.status_code = status.HTTP_200_OK
    state = None
    if inp is not None:
        queue = request.app.state.settings.temporal.task_queue
        call_temporal(request, tickets_temporal.start, inp, queue)
        state = tickets_temporal.initial_state(inp, _now())
    return {"ticket": _out(request, ticket.id), "sla": state}


@router.get("", response_model=Page[TicketOut])
def queue(
    request: Request,
    session: SessionDep,
    _: Reader,
    limit: Limit,
    offset: Offset = 0,
    team: Annotated[str | None, Query(max_length=64)] = None,
    assignee: Annotated[str | None, Query(max_length=64)] = None,
    assigned_role: Annotated[
        str | None,
        Query(max_length=64, description="The role queue an escalation reassigned tickets to."),
    ] = None,
    escalated_to: Annotated[
        str | None,
        Query(
            max_length=80,
            description="Tickets an escalation reached: a person, `role:<name>` or `team:<name>`.",
        ),
    ] = None,
    status_: Annotated[str | None, Query(alias="status", max_length=32)] = None,
    breaching_within: Annotated[
        int | None,
        Query(ge=1, le=525_600, description="Minutes: a running clock falls due within."),
    ] = None,
    breached: Annotated[bool | None, Query(description="A clock is past its due time.")] = None,
) -> Any:
    """The queue: filtered tickets, the soonest due first."""
    window = timedelta(minutes=breaching_within) if breaching_within else None
    rows = tickets_queue.list_tickets(
        session,
        now=_now(),
        team=team,
        assignee=assignee,
        assigned_role=assigned_role,
        escalated_to=escalated_to,
        status=status_,
        breaching_within=window,
        breached=breached,
        limit=limit,
        offset=offset,
    )
    recs = tickets_queue.records(session, [row.id for row in rows])
    items = [ticket_out(row, recs[row.id]) for row in rows]
    return offset_page(items, offset, limit)


@router.get("/{ticket_id}", response_model=TicketDetail)
def get_ticket(request: Request, ticket_id: TicketId, session: SessionDep, _: Reader) -> Any:
    """A ticket with the live state of every SLA clock, its escalations and extensions."""
    ticket = tickets.get_ticket(session, ticket_id)
    recs = tickets_queue.records(session, [ticket.id])[ticket.id]
    detail = {
        **ticket_out(ticket, recs),
        "sla": None,
        "sla_error": None,
        "escalations": recs["escalations"],
        "extension_records": recs["extensions"],
    }
    if ticket.workflow_id is not None:
        try:
            detail["sla"] = call_temporal(
                request, tickets_temporal.state, ticket.workflow_id, _now()
            )
        except TemporalUnavailableError as exc:
            detail["sla_error"] = exc.detail
        except Exception as exc:  # a worker that is down answers no query: show the mirror
            detail["sla_error"] = f"live state unavailable: {exc}"
    return detail


def _out(request: Request, ticket_id: str) -> dict[str, Any]:
    with session_scope(request.app.state.session_factory) as session:
        ticket = tickets.get_ticket(session, ticket_id)
        return ticket_out(ticket, tickets_queue.records(session, [ticket_id])[ticket_id])


def _act(
    verb: str, request: Request, ticket_id: str, session, actor: Actor, body: dict, key: str | None
) -> dict[str, Any]:
    session.commit()  # release the authentication transaction (see the module docstring)
    factory = request.app.state.session_factory
    with session_scope(factory) as work:
        ticket = tickets.get_ticket(work, ticket_id)
        action = tickets.action_for(work, actor, verb, body)
        if ticket.workflow_id is None:
            tickets.act_without_sla(work, ticket, action, _now())
        workflow_id = ticket.workflow_id
    state = None
    if workflow_id is not None:
        update_id = f"{verb}:{key}" if key else None
        state = call_temporal(request, tickets_temporal.act, workflow_id, action, update_id)
        tickets_queue.wait_recorded(factory, ticket_id, state.seq)
    return {"ticket": _out(request, ticket_id), "sla": state}


def _action(verb: str, doc: str, body_model: type[BaseModel] | None) -> None:
    """Register `POST /{ticket_id}/<verb, dashed>`: the action, with the body's set fields."""

    def bare(
        request: Request,
        ticket_id: TicketId,
        session: SessionDep,
        actor: Worker,
        idempotency_key: IdempotencyKey = None,
    ) -> Any:
        return _act(verb, request, ticket_id, session, actor, {}, idempotency_key)

    def with_body(
        request: Request,
        ticket_id: TicketId,
        body: BaseModel,
        session: SessionDep,
        actor: Worker,
        idempotency_key: IdempotencyKey = None,
    ) -> Any:
        fields = body.model_dump(exclude_none=True)
        return _act(verb, request, ticket_id, session, actor, fields, idempotency_key)

    route = bare
    if body_model is not None:
        # FastAPI reads the body's schema from the annotation, and the string "BaseModel"
        # (PEP 563) names no fields: the action's own model takes its place.
        with_body.__annotations__["body"] = body_model
        route = with_body
    route.__name__, route.__doc__ = verb, doc
    router.post(f"/{{ticket_id}}/{verb.replace('_', '-')}", response_model=ActionResult)(route)


_DOCS = {
    "acknowledge": "Take the ticket (it becomes yours if nobody holds it).",
    "respond": "Record a response to the customer (meets first response).",
    "wait_on_customer": "Wait on the customer (pauses the SLA).",
    "resume": "The customer answered (resumes the SLA).",
    "resolve": "Resolve the ticket (stops the SLA).",
    "reopen": "Reopen a resolved ticket (the SLA's reset condition applies).",
    "withdraw": "The customer withdrew the ticket (cancels the SLA).",
    "reassign": "Hand the ticket to a person, a role's queue or a team (never the named employee).",
    "escalate": "Escalate by hand: raise the priority (one step by default), notify a role.",
    "extend": "Extend the regulatory deadline; the approver is recorded "
    "and may not be the handler.",
}
_BODIES: dict[str, type[BaseModel]] = {"reassign": Reassign, "escalate": Escalate, "extend": Extend}
for _verb, _doc in _DOCS.items():  # in this order, the order of the paths in the OpenAPI document
    _action(_verb, _doc, _BODIES.get(_verb))
