"""The flat records rule conditions read at run time: a customer's and an event's fields.

`dsl.pyeval` reads a record keyed by field path (`customer.total_assets`, `consent.sms`,
`event.amount`). `customer_record` builds it from the customer row, holdings and consents (a
consent counts when granted and not expired at `now`, as in the SQL backend), and
`event_record` from an event row's payload. Events arrive before the core systems sync the
customer row, so `customer.last_transaction_at` is the later of the column and the customer's
latest transaction event: a dormant customer who transacts is not dormant any more, even
before the nightly sync says so. Evaluation is total: a condition that cannot be evaluated
(a payload without the field, a text where a number was due) is false, never an error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dsl.expr import Expr
from dsl.pyeval import as_datetime, compile_predicate
from dsl.schema import CUSTOMER_FIELDS, EVENT_FIELDS

# The consent paths and the (channel, purpose) that grants each: the SQL backend's own table,
# imported so a consent means exactly the same in audiences and in journeys.
from dsl.sqlclause import _CONSENT as CONSENT_PATHS
from dsl.types import Type
from store.customer import Consent, Customer, Holding
from store.event import Event

# Event types that are customer transactions (they move `customer.last_transaction_at`).
TRANSACTION_EVENTS = frozenset({"transfer.completed", "card.transaction", "customer.transacted"})
_COLUMNS = [p for p in CUSTOMER_FIELDS if p != "customer.products"]


def event_record(event: Event) -> dict[str, Any]:
    """`event.*` fields of one event: every known field (None when absent) plus the payload's."""
    record: dict[str, Any] = dict.fromkeys(EVENT_FIELDS)
    for key, value in (event.payload or {}).items():
        path = f"event.{key}"
        field = EVENT_FIELDS.get(path)
        if field is not None and field.type is Type.NUMBER and isinstance(value, str):
            # Amounts may be sent as decimal text to keep cents exact.
            try:
                value = Decimal(value)
            except InvalidOperation:
                value = None
        elif field is not None and field.type is Type.DATETIME and isinstance(value, str):
            value = _datetime_or_none(value)
        record[path] = value
    record["event.type"] = event.type
    record["event.occurred_at"] = event.occurred_at
    return record


def customer_record(session: Session, customer_id: str, now: dt.datetime) -> dict[str, Any] | None:
    """`customer.*` and `consent.*` fields of one customer at `now`; None if the row is missing."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return None
    record: dict[str, Any] = {f"customer.{k}": v for k, v in (customer.attributes or {}).items()}
    record.update({path: getattr(customer, path.removeprefix("customer.")) for path in _COLUMNS})
    products = session.scalars(sa.select(Holding.product).where(Holding.customer_id == customer_id))
    record["customer.products"] = frozenset(products)
    consents = session.execute(
        sa.select(Consent.channel, Consent.purpose, Consent.granted, Consent.expires_at).where(
            Consent.customer_id == customer_id
        )
    ).all()
    for path, (channel, purpose) in CONSENT_PATHS.items():
        record[path] = any(
            (row.channel, row.purpose) == (channel, purpose)
            and row.granted
            and (row.expires_at is None or row.expires_at > now)
            for row in consents
        )
    latest = session.scalar(
        sa.select(sa.func.max(Event.occurred_at)).where(
            Event.customer_id == customer_id, Event.type.in_(TRANSACTION_EVENTS)
        )
    )
    known = record["customer.last_transaction_at"]
    if latest is not None and (known is None or latest > known):
        record["customer.last_transaction_at"] = latest
    return record


@lru_cache(maxsize=512)
def _compiled(expr_json: str) -> Any:
    from pydantic import TypeAdapter

    return compile_predicate(TypeAdapter(Expr).validate_json(expr_json))


def evaluate(
    conditions: Iterable[Expr], record: dict[str, Any], *, now: dt.datetime, timezone: str
) -> list[bool]:
    """Each condition on `record` at `now` (`today` in `timezone`); unevaluable means false."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    results = []
    for expr in conditions:
        bound: Callable[[dict[str, Any]], Any] = _compiled(_json(expr)).bind(now, today)
        try:
            results.append(bool(bound(record)))
        except (TypeError, KeyError, ValueError, ArithmeticError, AttributeError):
            results.append(False)
    return results


def _json(expr: Expr) -> str:
    return expr.model_dump_json()  # type: ignore[union-attr]


def _datetime_or_none(value: str) -> dt.datetime | None:
    try:
        return as_datetime(value)
    except ValueError:
        return None
