"""Campaign routes: list, inspect, preview the audience, and start, pause, resume, stop, trigger.

A campaign id is `ruleset.campaign` of an active version. The routes are sync like the rest of
the API (one database transaction per request); Temporal calls are awaited on the app's event
loop with the app's one shared client (`app.state.temporal`), through `api.deps.call_temporal`.
The campaign is looked up in the database first, so an unknown id is a 404 without touching
Temporal; a Temporal that does not answer is a 503 for control, and "unknown" state in lists.
Every control action is audited in the request's transaction, after Temporal accepted it.
Repeating a call does the same thing once (see `services.campaign_control`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from pydantic import BaseModel

from api.deps import SessionDep, call_temporal
from api.params import Limit, Offset, offset_page
from api.permissions import allow
from api.problems import responses
from api.schemas import Page
from runtime import schedules
from runtime.temporal_client import TemporalUnavailableError
from services import campaign_control, campaigns
from services.actor import Actor

log = logging.getLogger(__name__)
router = APIRouter(tags=["campaigns"], responses=responses(404, 409, 503))
CampaignId = Annotated[
    str,
    Path(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,99}\.[A-Za-z_][A-Za-z0-9_]{0,99}$",
         description="`ruleset.campaign`"),
]  # fmt: skip
Reader = Annotated[Actor, allow("campaigns.read")]
Controller = Annotated[Actor, allow("campaigns.control")]


class CampaignSummary(BaseModel):
    id: str
    ruleset: str
    campaign: str
    title: str | None
    category: str
    version: int
    plan_hash: str
    schedule: str | None  # "daily at 09:00 Asia/Shanghai"; null: started by hand only
    state: Literal["scheduled", "paused", "pending", "unscheduled", "unknown"]


class CampaignDetail(CampaignSummary):
    state: str  # also "running"
    schedule_detail: dict[str, Any] | None
    next_run: datetime | None
    last_run: dict[str, Any] | None
    recent_runs: list[dict[str, Any]]
    running: list[dict[str, Any]]


class AudiencePreview(BaseModel):
    count: int
    sample: list[str]  # customer ids only: no names or contact data leave through a preview
    as_of: datetime
    timezone: str


class RunStarted(BaseModel):
    workflow_id: str
    run_id: str | None
    created: bool


class ControlResult(BaseModel):
    action: str
    schedule: str | None  # paused | active | triggered | already triggered; null: none
    signalled: list[str]  # running runs that received the signal


async def reconcile_after_activation(app: Any, ruleset: str) -> None:
    """Bring the ruleset's schedules in line with its active version (a background task).

    Runs after the activation committed and its response went out; a failure is logged, not
    raised: the version is active either way, and `rulebank schedules sync` (or the next
    activation) repairs the schedules once Temporal answers.
    """
    try:
        client = await app.state.temporal.get()
        report = await campaigns.sync_schedules(
            client, app.state.session_factory, app.state.settings, {ruleset}
        )
        log.info("schedules of %s: %s", ruleset, report)
    except Exception as exc:
        log.warning("schedules of %s not reconciled: %s", ruleset, exc)


def _summary(c: campaigns.ActiveCampaign, state: str) -> dict[str, Any]:
    s = c.spec.schedule
    return {"id": c.id, "ruleset": c.plan.ruleset, "campaign": c.spec.name,
            "title": c.spec.title, "category": c.spec.category, "version": c.version,
            "plan_hash": c.plan.hash, "state": state,
            "schedule": schedules.describe(s) if s else None}  # fmt: skip


@router.get("", response_model=Page[CampaignSummary])
def list_campaigns(
    request: Request, session: SessionDep, _: Reader, limit: Limit, offset: Offset = 0
) -> Any:
    """Campaigns of the active versions with their schedule state, ordered by id."""
    found = campaigns.list_campaigns(session)[offset : offset + limit]
    try:
        states = call_temporal(request, campaign_control.schedule_states, found) if found else {}
    except TemporalUnavailableError:
        states = {}  # the list is the database's; only the live state is unknown
    items = [_summary(c, states.get(c.id, "unknown")) for c in found]
    return offset_page(items, offset, limit)


@router.get("/{campaign_id}", response_model=CampaignDetail)
def get_campaign(request: Request, campaign_id: CampaignId, session: SessionDep, _: Reader) -> Any:
    """State, schedule (next and recent runs) and live progress of running runs."""
    campaign = campaigns.get_campaign(session, campaign_id)
    live = call_temporal(request, campaign_control.describe, campaign)
    schedule = live.pop("schedule")
    return {**_summary(campaign, live.pop("state")), **live, "schedule_detail": schedule}


@router.get("/{campaign_id}/audience", response_model=AudiencePreview)
def audience(
    campaign_id: CampaignId,
    session: SessionDep,
    _: Reader,
    sample: Annotated[int, Query(ge=0, le=50, description="Customer ids to return.")] = 10,
) -> Any:
    """How many customers the campaign selects now, and a few of their ids; sends nothing."""
    campaign = campaigns.get_campaign(session, campaign_id)
    return campaigns.audience(session, campaign, datetime.now(UTC), sample)


@router.post(
    "/{campaign_id}/start",
    response_model=RunStarted,
    status_code=status.HTTP_202_ACCEPTED,
    responses={200: {"model": RunStarted, "description": "The run of this key already exists."}},
)
def start(
    request: Request,
    response: Response,
    campaign_id: CampaignId,
    session: SessionDep,
    actor: Controller,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    """Run the campaign now; the same `Idempotency-Key` (default: today) is the same run."""
    campaign = campaigns.get_campaign(session, campaign_id)
    key = campaign_control.run_key(campaign, idempotency_key, datetime.now(UTC))
    queue = request.app.state.settings.temporal.task_queue
    result = call_temporal(request, campaign_control.start, campaign, key, queue)
    if result["created"]:
        campaigns.record(session, actor, "started", campaign, workflow_id=result["workflow_id"])
    else:
        response.status_code = status.HTTP_200_OK
    return result


def _control(action: str, verb: str):
    def route(
        request: Request, campaign_id: CampaignId, session: SessionDep, actor: Controller
    ) -> Any:
        campaign = campaigns.get_campaign(session, campaign_id)
        note = f"{verb} by {actor.name} through the API"
        result = call_temporal(request, campaign_control.control, campaign, action, note)
        campaigns.record(session, actor, verb, campaign, **result)
        return {"action": action, **result}

    route.__name__ = action
    route.__doc__ = {
        "pause": "Pause the schedule and the running runs (between pages).",
        "resume": "Resume the schedule and the paused runs.",
        "stop": "Stop the running runs cleanly (between pages); the schedule stays.",
        "trigger": "Fire the schedule now (skipped while a run is in flight).",
    }[action]
    return route


for _action, _verb in (("pause", "paused"), ("resume", "resumed"), ("stop", "stopped"),
                       ("trigger", "triggered")):  # fmt: skip
    router.post(f"/{{campaign_id}}/{_action}", response_model=ControlResult)(
        _control(_action, _verb)
    )
