"""Event ingest: batches of business events from the bank's systems, stored exactly once.

Senders retry, so every event carries an idempotency key, unique in the `event` table: a key
seen before (in an earlier batch or earlier in the same one) is reported as a duplicate and
not stored again, which makes resending a whole batch after a timeout safe. Each event is
validated on its own, so one malformed event is reported by its index without holding back
the rest of the batch. Payloads may hold personal data (amounts, merchants, counterparties):
they are stored, never logged. The result also lists the batch's valid keys (`stored_keys`,
new and resent alike) for the route to hand to `services.event_router` once committed.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dsl.schema import EVENT_TYPES
from services.actor import Actor
from services.customers import CustomerId, Input, UtcInstant, format_errors
from services.errors import ForbiddenError
from store.base import utcnow
from store.event import Event
from store.user import Role

MAX_BATCH = 1000
SENDERS = (Role.ADMIN, Role.MARKETING_OPS)


def _known_type(value: str) -> str:
    if value not in EVENT_TYPES:
        raise ValueError(f"unknown event type; one of {', '.join(EVENT_TYPES)}")
    return value


class EventIn(Input):
    type: Annotated[str, AfterValidator(_known_type)]
    customer_id: CustomerId
    occurred_at: UtcInstant
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    # Any JSON object; NUL is refused (by `Input`) because PostgreSQL cannot store it.
    payload: dict[str, Any] = Field(default_factory=dict)


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    table = Event.__table__
    stmt = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    # A key already stored (say by a concurrent retry of this batch) is skipped, not an error;
    # RETURNING tells which rows were really inserted.
    return stmt.on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(
        table.c.idempotency_key
    )


def ingest(session: Session, actor: Actor, events: list[Any]) -> dict[str, Any]:
    """Store a batch; `{"received", "accepted", "duplicates", "rejected": [{index, errors}]}`."""
    if not actor.has(*SENDERS):
        raise ForbiddenError(f"role {actor.role.value} may not send events")
    rejected: list[dict[str, Any]] = []
    rows: dict[str, dict[str, Any]] = {}  # by idempotency key, first occurrence wins
    duplicates, received_at = 0, utcnow()
    for index, item in enumerate(events):
        try:
            event = EventIn.model_validate(item)
        except PydanticValidationError as exc:
            rejected.append({"index": index, "errors": format_errors(exc)})
            continue
        if event.idempotency_key in rows:
            duplicates += 1
            continue
        rows[event.idempotency_key] = event.model_dump() | {"received_at": received_at}
    inserted: set[str] = set()
    if rows:
        inserted = set(session.scalars(_insert(session), list(rows.values())))
    duplicates += len(rows) - len(inserted)
    return {"received": len(events), "accepted": len(inserted), "duplicates": duplicates,
            "rejected": rejected, "stored_keys": list(rows)}  # fmt: skip
