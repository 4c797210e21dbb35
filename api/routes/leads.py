"""Lead routes: create, list (mine, team, pool), inspect with the live clock, and act on leads.

`POST /v1/leads` stores the lead pinned to the first active lead rule that applies (422 when
none does), commits, then starts its LeadFollowUpWorkflow; repeating the request with the same
`id` and fields is the same lead (200) and starts the follow-up if an earlier attempt could
not (Temporal down: 503, the lead kept). `GET /v1/leads/{id}` answers the owner, deadlines,
the steps ahead and the remaining ownership time from the workflow's `lead_state` query,
measured at the request's time; without Temporal it falls back to the stored mirror
(`clock.live` false). Actions are workflow updates; the request's transaction is committed
before the update is sent (on SQLite the worker's activity needs the write lock), and an early
check answers the common refusals (a cooldown: 409 naming when it ends) without Temporal.
Who sees what is decided inside the service's queries (`services.leads.visible`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep, call_temporal
from api.params import Limit, Offset, offset_page
from api.permissions import allow
from api.problems import responses
from api.schemas import Input, Page, Text
from runtime.contracts import LeadCommand, LeadView
from runtime.temporal_client import TemporalUnavailableError
from services import leads, leads_control
from services.actor import Actor
from services.leads_rules import rule_of
from store.session import session_scope
from store.work import Lead
from workflows.lead_clock import ladder_action

router = APIRouter(tags=["leads"], responses=responses(404, 409, 503))
LeadId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,40}$", description="The lead's id.")]
Reader = Annotated[Actor, allow("leads.read")]
Creator = Annotated[Actor, allow("leads.create")]
Worker = Annotated[Actor, allow("leads.work")]


class LeadCreate(Input):
    id: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")] = None
    customer_id: Annotated[Text | None, Field(max_length=32)] = None
    name: Annotated[Text, Field(min_length=1, max_length=200)]  # the prospect: personal data
    source: Annotated[Text, Field(min_length=1, max_length=32)]
    kind: Annotated[Text, Field(min_length=1, max_length=16)]
    region: Annotated[Text, Field(min_length=1, max_length=32)]
    product: Annotated[Text | None, Field(max_length=64)] = None
    expected_value: Annotated[Decimal, Field(ge=0, lt=Decimal("1e18"), decimal_places=2)] = Decimal(
        "0"
    )
    customer_level: Annotated[int, Field(ge=1, le=5)] = 1
    contract_end_on: Annotated[date | None, Field(ge=date(1900, 1, 1), le=date(2999, 12, 31))] = (
        None
    )


class ActionBody(Input):
    reason: Annotated[Text | None, Field(max_length=64)] = None  # no personal data
    outcome: Literal["lost", "invalid"] | None = None  # disqualify only; default lost


class LeadOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    customer_id: str | None
    name: str
    source: str
    kind: str
    status: str
    region: str
    product: str | None
    expected_value: Decimal
    customer_level: int
    contract_end_on: date | None
    team: str | None
    owner: str | None
    previous_owner: str | None
    ruleset: str | None
    ruleset_version: int | None
    rule: str | None
    reassignments: int
    assigned_at: datetime | None
    due_kind: str | None
    due_at: datetime | None
    last_contacted_at: datetime | None
    ownership_ends_at: datetime | None
    released_at: datetime | None
    closed_at: datetime | None
    created_at: datetime


class Step(BaseModel):
    at: datetime
    action: str  # remind | escalate_to | reassign_limit | return_to_pool


class Clock(BaseModel):
    live: bool  # false: Temporal did not answer; the times are the stored mirror
    as_of: datetime
    stage: Literal["assigning", "owned", "pool", "closed"]
    next_at: datetime | None  # when the follow-up acts next unless someone acts first
    steps_ahead: list[Step]
    owner_until: datetime | None  # the owner loses the lead then unless they act
    remaining_ownership_s: float | None


class Entry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str
    from_owner: str | None
    to_owner: str | None
    actor: str
    reason: str | None
    occurred_at: datetime


class LeadDetail(LeadOut):
    workflow_id: str
    clock: Clock
    history: list[Entry]


def _stage(lead: Lead) -> str:
    if lead.status in ("won", "lost", "invalid"):
        return "closed"
    if lead.owner:
        return "owned"
    return "pool" if lead.released_at else "assigning"


def _clock(lead: Lead, view: LeadView | None, now: datetime, spec: Any) -> Clock:
    if view is None or view.state is None:
        until = lead.ownership_ends_at if _stage(lead) == "owned" else None
        return Clock(
            live=False,
            as_of=now,
            stage=_stage(lead),
            next_at=None,
            steps_ahead=[],
            owner_until=until,
            remaining_ownership_s=_left(until, now),
        )
    state = view.state
    ahead = [
        Step(at=s.at, action=ladder_action(spec, s.step).kind)  # type: ignore[union-attr]
        for s in state.ladder[view.next_step :]
    ]
    return Clock(
        live=True,
        as_of=now,
        stage=state.stage,
        next_at=view.next_at,
        steps_ahead=ahead,
        owner_until=view.owner_until,
        remaining_ownership_s=_left(view.owner_until, now),
    )


def _left(until: datetime | None, now: datetime) -> float | None:
    return None if until is None else max((until - now).total_seconds(), 0.0)


def _detail(request: Request, lead_id: str, actor: Actor) -> dict[str, Any]:
    # Temporal first, then a session of its own (the request's one is committed by now):
    # no transaction, and on SQLite no write lock, is held while the workflow answers.
    now = datetime.now(UTC)
    try:
        view = call_temporal(request, leads_control.live, lead_id)
    except TemporalUnavailableError:
        view = None
    with session_scope(request.app.state.session_factory) as session:
        lead = leads.get_lead(session, actor, lead_id)
        spec = rule_of(session, lead).spec
        history = [Entry.model_validate(h) for h in leads.history(session, lead)]
        out = LeadOut.model_validate(lead).model_dump()
        return {
            **out,
            "workflow_id": f"lead:{lead.id}",
            "clock": _clock(lead, view, now, spec),
            "history": history,
        }


@router.post(
    "",
    response_model=LeadOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": LeadOut, "description": "The same lead was created before."}},
)
def create_lead(
    request: Request, response: Response, body: LeadCreate, session: SessionDep, actor: Creator
) -> Any:
    """Store a lead and start its follow-up under the first active lead rule that applies."""
    now = datetime.now(UTC)
    lead, rule, created = leads.create_lead(session, actor, body.model_dump(), now)
    out = LeadOut.model_validate(lead)
    session.commit()  # the row exists before its workflow's first activity looks for it
    queue = request.app.state.settings.temporal.task_queue
    call_temporal(request, leads_control.start, rule, lead.id, lead.created_at, queue)
    if not created:
        response.status_code = status.HTTP_200_OK
    return out


@router.get("", response_model=Page[LeadOut])
def list_leads(
    session: SessionDep,
    actor: Reader,
    limit: Limit,
    offset: Offset = 0,
    scope: Annotated[
        Literal["mine", "team", "pool", "all"] | None,
        Query(description="Default: `mine` for sales, `all` for the others."),
    ] = None,
    lead_status: Annotated[str | None, Query(alias="status", max_length=32)] = None,
    team: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    """Leads the caller may read in `scope`, newest first."""
    chosen = scope or ("mine" if actor.role.value == "sales" else "all")
    found = leads.list_leads(
        session, actor, chosen, status=lead_status, team=team, limit=limit, offset=offset
    )
    items = [LeadOut.model_validate(lead) for lead in found]
    return offset_page(items, offset, limit)


@router.get("/{lead_id}", response_model=LeadDetail)
def get_lead(request: Request, lead_id: LeadId, session: SessionDep, actor: Reader) -> Any:
    """The lead, its ledger and its live clock: owner, deadlines, remaining ownership time."""
    leads.get_lead(session, actor, lead_id)  # 404 before anything else
    session.commit()  # release SQLite's write lock while Temporal answers
    return _detail(request, lead_id, actor)


def _action(action: str):
    def route(
        request: Request,
        lead_id: LeadId,
        session: SessionDep,
        actor: Worker,
        body: ActionBody | None = None,
    ) -> Any:
        lead = leads.get_lead(session, actor, lead_id)
        leads.check_action(session, actor, lead, action, datetime.now(UTC))
        session.commit()  # the worker's activity writes this lead next
        body = body or ActionBody()
        command = LeadCommand(
            actor=actor.name, role=actor.role.value, reason=body.reason, outcome=body.outcome
        )
        call_temporal(request, leads_control.command, lead_id, action, command)
        return _detail(request, lead_id, actor)

    route.__name__ = f"{action}_lead"
    route.__doc__ = {
        "contact": "Record a contact by the owner: the follow-up cadence starts again.",
        "convert": "The owner won the lead: its follow-up ends.",
        "disqualify": "Close the lead as lost (or invalid): its follow-up ends.",
        "claim": "Take a lead from the pool (cooldown, daily limit and hold cap apply).",
        "release": "Give the lead back to the pool.",
    }[action]
    return route


for _name in ("contact", "convert", "disqualify", "claim", "release"):
    router.post(f"/{{lead_id}}/{_name}", response_model=LeadDetail)(_action(_name))
