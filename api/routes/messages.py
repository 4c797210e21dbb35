"""The outbox: `GET /v1/messages?status=failed` lists messages by status, customer or run.

Rows hold ids, template names, statuses and errors, never contact details or rendered text,
so the list can be read by everyone who runs or reviews campaigns. Permanent failures (a
rejected number, a template that does not render) are `failed` and never retried: this is
where operations find them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from api.deps import SessionDep
from api.params import Limit, Offset, offset_page
from api.permissions import allow
from api.schemas import Page
from services.actor import Actor
from services.customers import CUSTOMER_ID
from store.outbox import Message, MessageStatus

router = APIRouter(tags=["messages"])
Reader = Annotated[Actor, allow("messages.read")]


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    idempotency_key: str
    workflow_id: str
    step: str
    customer_id: str
    channel: str
    template: str
    category: str
    ruleset: str | None
    rule: str | None
    locale: str | None
    template_version: str | None
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    due_at: datetime | None
    sent_at: datetime | None


@router.get("", response_model=Page[MessageOut])
def list_messages(
    session: SessionDep,
    _: Reader,
    limit: Limit,
    offset: Offset = 0,
    status: MessageStatus | None = None,
    customer_id: Annotated[str | None, Query(pattern=CUSTOMER_ID)] = None,
    workflow_id: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]+$")] = None,
) -> Any:
    """Messages, newest first, filtered by status, customer and workflow (run) id."""
    query = sa.select(Message).order_by(Message.created_at.desc(), Message.id.desc())
    for column, value in (
        (Message.status, status), (Message.customer_id, customer_id),
        (Message.workflow_id, workflow_id),
    ):  # fmt: skip
        if value is not None:
            query = query.where(column == value)
    items = list(session.scalars(query.limit(limit).offset(offset)))
    return offset_page(items, offset, limit)
