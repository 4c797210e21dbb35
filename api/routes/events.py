"""Event ingest route: `POST /v1/events` takes a batch of business events and stores each once.

The batch envelope is checked here (an object with an `events` list of at most
`services.events.MAX_BATCH` items; anything else is a 422 for the whole request); each event
is then validated on its own by `services.events`, so a malformed one is reported by index
while the rest are stored. A resent event (same `idempotency_key`) counts as a duplicate, not
an error, which makes retrying a whole batch safe. System integrations use an admin key for
now; marketing operations may send test events. Payloads are never logged.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep, require_roles
from services import events
from services.actor import Actor
from store.user import Role

router = APIRouter(tags=["events"])


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Items are validated one by one in the service, so one bad event cannot sink the batch.
    events: Annotated[list[dict[str, Any]], Field(max_length=events.MAX_BATCH)]


class Rejected(BaseModel):
    index: int
    errors: list[str]


class IngestReport(BaseModel):
    received: int
    accepted: int
    duplicates: int
    rejected: list[Rejected]


@router.post("/events", response_model=IngestReport)
def ingest(
    batch: EventBatch,
    session: SessionDep,
    actor: Annotated[Actor, Depends(require_roles(Role.ADMIN, Role.MARKETING_OPS))],
) -> Any:
    """Store a batch of events; counts accepted, duplicate and rejected events."""
    return events.ingest(session, actor, batch.events)
