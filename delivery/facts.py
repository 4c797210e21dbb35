"""Bulk reads for one page of sends: customers, their consents and their frequency-cap counts.

A handful of statements per page, whatever its size: the customers (locked `FOR NO KEY UPDATE`
on PostgreSQL, in id order so concurrent pages never deadlock, which makes a cap check and the
outbox insert that follows atomic per customer across campaigns; SQLite's write lock does the
same), every consent row they have, and one grouped count over `message` for all caps at once.
Contact details are read here, inside the delivery activity, and never leave it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from delivery.gate import Cap, ConsentRow, Facts
from runtime.contracts import RuleRef
from store.customer import Consent, Customer
from store.event import Event
from store.outbox import Message, MessageStatus
from store.work import Ticket

CUSTOMER_COLUMNS = (
    Customer.id, Customer.name, Customer.locale, Customer.timezone, Customer.phone,
    Customer.email, Customer.tier, Customer.relationship_manager, Customer.branch,
    Customer.do_not_disturb, Customer.personalisation_opt_out, Customer.attributes,
)  # fmt: skip
COUNTED = (MessageStatus.SENT, MessageStatus.PENDING)  # a pending send may already be out


def load_customers(session: Session, ids: Sequence[str], *, lock: bool) -> dict[str, Any]:
    """Customer rows by id (only the columns delivery needs), optionally row-locked."""
    query = sa.select(*CUSTOMER_COLUMNS).where(Customer.id.in_(ids)).order_by(Customer.id)
    if lock:
        query = query.with_for_update(key_share=True)  # FOR NO KEY UPDATE: consents may insert
    return {row.id: row for row in session.execute(query)}


def load_consents(session: Session, ids: Sequence[str]) -> dict[str, dict]:
    """customer id -> (channel, purpose) -> ConsentRow."""
    query = sa.select(
        Consent.customer_id, Consent.channel, Consent.purpose, Consent.granted,
        Consent.expires_at, Consent.source,
    ).where(Consent.customer_id.in_(ids))  # fmt: skip
    result: dict[str, dict] = {}
    for row in session.execute(query):
        key = (str(row.channel), str(row.purpose))
        result.setdefault(row.customer_id, {})[key] = ConsentRow(
            row.granted, row.expires_at, row.source
        )
    return result


# A message counts against caps from when it went out: one deferred to the customer's local
# time (up to a day) or past quiet hours must not fall out of a 1-day cap as it is sent.
MAX_DEFERRAL = timedelta(days=3)  # the longest a row waits between creation and sending


def _counted_at() -> sa.ColumnElement:
    return sa.func.coalesce(Message.sent_at, Message.created_at)


def cap_counts(session: Session, ids: Sequence[str], caps: list[Cap], *, rule: RuleRef,
               policy_category: str | None, now: datetime) -> dict[str, list[int]]:  # fmt: skip
    """customer id -> one count per cap: messages sent or pending inside each cap's window."""
    if not caps or not ids:
        return {}
    columns = []
    for cap in caps:
        since = now - timedelta(seconds=cap.seconds)
        if cap.scope == "policy":
            match = Message.category == (policy_category or rule.category)
        else:
            match = sa.and_(Message.ruleset == rule.ruleset, Message.rule == rule.rule)
        hit = sa.and_(match, Message.status.in_(COUNTED), _counted_at() >= since)
        columns.append(sa.func.sum(sa.case((hit, 1), else_=0)))
    oldest = now - timedelta(seconds=max(cap.seconds for cap in caps))
    # The status test stays inside the CASE: in WHERE, a planner with stale statistics picks
    # the status index and scans every sent message ever, instead of these customers' rows.
    query = (
        sa.select(Message.customer_id, *columns)
        .where(Message.customer_id.in_(ids), Message.created_at >= oldest - MAX_DEFERRAL)
        .group_by(Message.customer_id)
    )
    return {row[0]: [int(n or 0) for n in row[1:]] for row in session.execute(query)}


def build_facts(customers: dict[str, Any], consents: dict[str, dict],
                counts: dict[str, list[int]], ids: Sequence[str], channel: str,
                n_caps: int) -> dict[str, Facts]:  # fmt: skip
    """The gate's view of each customer in `ids`."""
    facts: dict[str, Facts] = {}
    for cid in ids:
        row = customers.get(cid)
        if row is None:
            facts[cid] = Facts(cid, exists=False)
            continue
        address = {"sms": row.phone, "email": row.email, "push": row.id}.get(channel)
        facts[cid] = Facts(
            cid,
            address=address,
            timezone=row.timezone,
            do_not_disturb=row.do_not_disturb,
            consents=consents.get(cid, {}),
            cap_counts=counts.get(cid, [0] * n_caps),
        )
    return facts


def load_event_context(session: Session, event_id: int | None) -> dict[str, Any]:
    """`event` (type, amount) and, when the event names one, `ticket` for templates."""
    if event_id is None:
        return {}
    event = session.get(Event, event_id)
    if event is None:
        return {}
    payload = event.payload or {}
    context: dict[str, Any] = {"event": {"type": event.type, "amount": payload.get("amount")}}
    ticket_id = payload.get("ticket_id")
    if ticket_id is not None:
        ticket = session.get(Ticket, str(ticket_id))
        if ticket is not None:
            context["ticket"] = {"id": ticket.id, "category": ticket.category}
    return context
