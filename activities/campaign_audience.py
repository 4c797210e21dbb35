"""The SQL of a campaign run: its audience as a keyset-pageable query, and its deferred sends.

The audience is the compiled clause of the campaign's condition, bounded to the partition's id
range and, for a campaign with `reentry`, without the customers an earlier run of the same rule
selected within the window (any outbox message or task of the rule, from another run). A run's
own outbox and task rows carry its root run id as `workflow_id` (the Deliverer and
`activities.task_rows` write it): equality, never a key-prefix range, because PostgreSQL's
linguistic collations do not order `|` and `}` the way a prefix range needs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm import Session
from temporalio.exceptions import ApplicationError

from dsl.plan import DurationSpec
from store.audience import campaign_clause
from store.customer import Customer
from store.outbox import Message, MessageStatus
from store.work import Task
from workflows.campaign_types import AudienceRequest, DeferredRequest

# Calendar lengths for re-entry windows in months and years; business days count as days
# (a re-entry window is a marketing courtesy, not a deadline).
_APPROX_SECONDS = {"month": 30 * 86400, "year": 365 * 86400, "hour": 3600, "day": 86400}
RETRY_DEFERRED_AFTER = timedelta(minutes=1)


def audience_query(request: AudienceRequest, *, after_id: str | None = None) -> sa.Select:
    """`SELECT customer.id` of the audience in id order, after the keyset cursor `after_id`."""
    try:
        clause = campaign_clause(request.campaign, request.timezone, request.as_of)
    except (ValueError, ZoneInfoNotFoundError) as error:
        raise ApplicationError(
            f"campaign {request.campaign.name}: {error}",
            type="CampaignAudienceInvalid",
            non_retryable=True,
        ) from error
    where = [clause]
    low = max((b for b in (request.id_low, after_id) if b is not None), default=None)
    if low is not None:
        where.append(Customer.id > low)
    if request.id_high is not None:
        where.append(Customer.id <= request.id_high)
    where.extend(_reentry(request))
    return sa.select(Customer.id).where(*where).order_by(Customer.id)


def _reentry(request: AudienceRequest) -> list[sa.ColumnElement[bool]]:
    campaign, rule = request.campaign, request.rule
    if not campaign.reentry_never and campaign.reentry_after is None:
        return []
    since = None
    if campaign.reentry_after is not None:
        since = request.as_of - timedelta(seconds=_window_seconds(campaign.reentry_after))
    excluded = []
    for table in (Message.__table__, Task.__table__):
        conditions = [
            table.c.customer_id == Customer.id,
            table.c.ruleset == rule.ruleset,
            table.c.rule == rule.rule,
            table.c.workflow_id != request.root_run_id,  # this run's own rows do not count
        ]
        if since is not None:
            conditions.append(table.c.created_at >= since)
        excluded.append(~sa.exists().where(*conditions))
    return excluded


def _window_seconds(duration: DurationSpec) -> int:
    fixed = duration.fixed_seconds()
    return fixed if fixed is not None else duration.amount * _APPROX_SECONDS[duration.unit]


def _deferred_filter(request: DeferredRequest) -> list[sa.ColumnElement[bool]]:
    where = [
        Message.status == MessageStatus.DEFERRED,  # partial indexes ix_message_deferred_*
        Message.workflow_id == request.audience.root_run_id,
    ]
    audience = request.audience
    if audience.id_low is not None:
        where.append(Message.customer_id > audience.id_low)
    if audience.id_high is not None:
        where.append(Message.customer_id <= audience.id_high)
    return where


def deferred_rows(session: Session, request: DeferredRequest) -> list[tuple[str, str, str]]:
    """(key, step, customer id) of the next page of this run's deferred sends due by now."""
    due = sa.or_(Message.due_at.is_(None), Message.due_at <= request.now)
    where = [*_deferred_filter(request), due]
    if request.after_key is not None:
        where.append(Message.idempotency_key > request.after_key)
    query = (
        sa.select(Message.idempotency_key, Message.step, Message.customer_id)
        .where(*where)
        .order_by(Message.idempotency_key)
        .limit(request.page_size)
    )
    return [tuple(row) for row in session.execute(query)]


def next_deferred_due(session: Session, request: DeferredRequest) -> datetime | None:
    """When the next pass is due: the earliest due time still deferred, or None."""
    due = session.scalar(sa.select(sa.func.min(Message.due_at)).where(*_deferred_filter(request)))
    if due is None:
        return None
    # A row still due after its pass was deferred again or failed: try again shortly, not in a
    # tight loop.
    return max(due, request.now + RETRY_DEFERRED_AFTER)
