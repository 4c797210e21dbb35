"""Event ingest route: `POST /v1/events` takes a batch of business events and stores each once.

The batch envelope is checked here (an object with an `events` list of at most
`services.events.MAX_BATCH` items; anything else is a 422 for the whole request); each event
is then validated on its own by `services.events`, so a malformed one is reported by index
while the rest are stored. A resent event (same `idempotency_key`) counts as a duplicate, not
an error, which makes retrying a whole batch safe. System integrations use an admin key for
now; marketing operations may send test events. Payloads are never logged.

Once stored and committed, the batch is routed to journeys and tasks (`services.event_router`:
matched in-process, only the matches reach Temporal). The journeys it starts are indexed and
committed before any Temporal call, and runs found ended are dropped from the index after the
calls, each in a transaction of its own. With Temporal disabled in the settings the events are
stored and not routed (`routed` is null); when Temporal does not answer the answer is 503
after storing, and resending the same batch is safe and routes it.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Annotated, Any

from anyio import from_thread
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError
from temporalio.service import RPCError

from api.deps import SessionDep, require_roles, temporal_client
from services import event_router, events
from services.actor import Actor
from services.errors import DomainError
from store.base import utcnow
from store.session import session_scope
from store.user import Role

log = logging.getLogger(__name__)
router = APIRouter(tags=["events"])


class RoutingUnavailableError(DomainError):
    status = 503
    title = "Events stored, not routed"


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Items are validated one by one in the service, so one bad event cannot sink the batch.
    events: Annotated[list[dict[str, Any]], Field(max_length=events.MAX_BATCH)]


class Rejected(BaseModel):
    index: int
    errors: list[str]


class Routed(BaseModel):
    started: int
    signalled: int
    not_running: int
    refused: int
    skipped: int  # listened events for customers with no run of the journey: never sent


class IngestReport(BaseModel):
    received: int
    accepted: int
    duplicates: int
    rejected: list[Rejected]
    routed: Routed | None = None  # null: Temporal is disabled, events are only stored


@router.post("/events", response_model=IngestReport)
def ingest(
    batch: EventBatch,
    session: SessionDep,
    request: Request,
    actor: Annotated[Actor, Depends(require_roles(Role.ADMIN, Role.MARKETING_OPS))],
) -> Any:
    """Store a batch of events, then route it; counts accepted, duplicate and rejected events."""
    report = events.ingest(session, actor, batch.events)
    # Committed before routing: the journeys' activities read the stored rows.
    session.commit()
    report["routed"] = _route(request, report.pop("stored_keys"))
    return report


def _route(request: Request, keys: list[str]) -> dict[str, int] | None:
    app = request.app
    temporal = getattr(app.state, "temporal", None)
    enabled = temporal is not None and app.state.settings.temporal.enabled
    with session_scope(app.state.session_factory) as session:
        stored = event_router.stored_events(session, keys)
        routing = event_router.plan_routes(session, stored, now=utcnow())
        if enabled:  # committed before any Temporal call: a crash then wastes a signal at most
            event_router.record_runs(session, routing)
    if not enabled:
        log.info("events stored, not routed: Temporal is disabled (%d calls)", len(routing))
        return None
    if not routing:  # nothing matched: no reason to reach Temporal at all
        return event_router.RouteReport(skipped=routing.skipped).counts()
    queue = app.state.settings.temporal.task_queue
    try:
        client = temporal_client(request)
        done = from_thread.run(partial(event_router.deliver, client, routing, task_queue=queue))
    except (RPCError, DomainError) as exc:
        raise RoutingUnavailableError(
            f"the events are stored but were not routed ({exc}); resending the batch is safe"
        ) from None
    if done.gone:  # lazy cleanup of the run index: those runs have ended
        try:
            with session_scope(app.state.session_factory) as session:
                event_router.forget_ended(session, done)
        except SQLAlchemyError:  # housekeeping: the batch is routed; the next NOT_FOUND retries
            log.warning("run index cleanup failed for %d ended runs", len(done.gone), exc_info=True)
    return done.counts()
