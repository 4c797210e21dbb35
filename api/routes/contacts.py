"""`GET /v1/customers/{id}/contacts`: why a customer got, or did not get, each message.

One row per contact decision, newest first: the decision (sent, suppressed, deferred) and its
reason and detail (which consent, which cap, which quiet window), the rule, ruleset version
and plan hash, the template and its version, the workflow id and step, and what became of
the message (sent, failed and why). Decisions outlive the customer row, so an unknown id is
an empty list, not a 404. Nothing here is contact data: ids, names of rules and reasons.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.deps import SessionDep
from api.params import Limit, Offset, Window, offset_page
from api.permissions import allow
from api.schemas import Page
from services.actor import Actor
from services.customers import CUSTOMER_ID
from store.outbox import ContactDecision, Message

router = APIRouter(tags=["customers"])
Reader = Annotated[Actor, allow("contacts.read")]
CustomerId = Annotated[str, Path(pattern=CUSTOMER_ID, description="Customer.")]


class MessageState(BaseModel):
    status: str
    attempts: int
    last_error: str | None
    due_at: datetime | None
    sent_at: datetime | None


class Contact(BaseModel):
    decided_at: datetime
    decision: str
    reason: str | None
    detail: str | None
    channel: str
    category: str | None
    ruleset: str
    ruleset_version: int
    rule: str
    plan_hash: str | None
    template: str | None
    template_version: str | None
    workflow_id: str
    step: str | None
    message: MessageState | None


@router.get("/v1/customers/{customer_id}/contacts", response_model=Page[Contact])
def list_contacts(
    customer_id: CustomerId,
    session: SessionDep,
    _: Reader,
    limit: Limit,
    window: Window,
    offset: Offset = 0,
    rule: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9_]+$")] = None,
) -> Any:
    """The customer's contact decisions with their messages' outcome, newest first."""
    d, m = ContactDecision, Message
    query = (
        sa.select(d, m)
        .outerjoin(m, m.idempotency_key == d.idempotency_key)
        .where(d.customer_id == customer_id)
        .order_by(d.decided_at.desc(), d.id.desc())
    )
    if rule is not None:
        query = query.where(d.rule == rule)
    if window.since is not None:
        query = query.where(d.decided_at >= window.since)
    if window.until is not None:
        query = query.where(d.decided_at < window.until)
    rows = session.execute(query.limit(limit).offset(offset)).all()
    items = [_contact(decision, message) for decision, message in rows]
    return offset_page(items, offset, limit)


def _contact(decision: ContactDecision, message: Message | None) -> Contact:
    fields = {name: getattr(decision, name) for name in Contact.model_fields if name != "message"}
    state = None
    if message is not None:
        state = MessageState(
            status=message.status, attempts=message.attempts, last_error=message.last_error,
            due_at=message.due_at, sent_at=message.sent_at,
        )  # fmt: skip
    return Contact(**fields, message=state)
