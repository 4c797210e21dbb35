"""Audit log routes for compliance: filtered reading, chain verification, JSON-lines export.

Listing pages by keyset on `seq` (`after` = the last seq seen), which stays fast however long
the log grows, unlike offsets. The export streams straight from the database in its own
transaction (the request's transaction has ended by the time the body is sent), so a
multi-million-entry export never sits in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse

from api.deps import SessionDep
from api.params import MAX_INT64, Limit, Window
from api.permissions import allow
from api.schemas import AuditEntry, AuditVerification, Page
from services.actor import Actor
from store import audit
from store.session import session_scope

router = APIRouter(tags=["audit"])
Auditor = Annotated[Actor, allow("audit.read")]
RulesetFilter = Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9_]+$")]


@router.get("", response_model=Page[AuditEntry])
def list_entries(
    session: SessionDep,
    _: Auditor,
    limit: Limit,
    window: Window,
    ruleset: RulesetFilter = None,
    actor: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]+$")] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]+$")] = None,
    after: Annotated[int, Query(ge=0, le=MAX_INT64, description="Last seq seen.")] = 0,
) -> Any:
    """Entries in seq order, filtered by ruleset, actor, action and time."""
    entry = audit.AuditEntry
    query = sa.select(entry).where(entry.seq > after).order_by(entry.seq).limit(limit)
    for column, value in ((entry.ruleset, ruleset), (entry.actor, actor), (entry.action, action)):
        if value is not None:
            query = query.where(column == value)
    if window.since is not None:
        query = query.where(entry.occurred_at >= window.since)
    if window.until is not None:
        query = query.where(entry.occurred_at < window.until)
    items = list(session.scalars(query))
    return Page(items=items, next=items[-1].seq if len(items) == limit else None)


@router.get("/verify", response_model=AuditVerification)
def verify(
    session: SessionDep,
    _: Auditor,
    anchor_seq: Annotated[
        int | None, Query(ge=1, le=MAX_INT64, description="An earlier answer's `head_seq`.")
    ] = None,
    anchor_hash: Annotated[
        str | None, Query(pattern=r"^[0-9a-f]{64}$", description="Its `head_hash`.")
    ] = None,
) -> Any:
    """Recompute the hash chain; names the first broken entry if any. With an anchor (the head
    of an earlier verification, kept outside the database) it also catches newest entries
    that were removed."""
    if (anchor_seq is None) != (anchor_hash is None):
        raise RequestValidationError([{
            "loc": ("query", "anchor_hash" if anchor_hash is None else "anchor_seq"),
            "msg": "anchor_seq and anchor_hash go together", "type": "value_error",
        }])  # fmt: skip
    anchor = audit.Anchor(anchor_seq, anchor_hash) if anchor_seq and anchor_hash else None
    result = audit.verify(session, anchor=anchor)
    return AuditVerification.model_validate(result, from_attributes=True)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/x-ndjson": {}},
            "description": "One JSON entry per line, in seq order.",
        }
    },
)
def export(
    request: Request, _: Auditor, window: Window, ruleset: RulesetFilter = None
) -> StreamingResponse:
    """Stream entries as JSON lines (`application/x-ndjson`), optionally filtered."""
    factory = request.app.state.session_factory

    def lines() -> Iterator[str]:
        with session_scope(factory) as session:
            yield from audit.export_jsonl(
                session, since=window.since, until=window.until, ruleset=ruleset
            )

    return StreamingResponse(lines(), media_type="application/x-ndjson")
