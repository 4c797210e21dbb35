"""Bulk import of customer records synced from the core systems (`POST /v1/customers:bulk`).

An import takes records already decoded from the request (row number, dict), validates each
against `CustomerRow` and writes the valid ones in batches, each batch atomic (a savepoint):
every row is either accepted or reported with its errors, nothing is dropped silently. A row
updates only the fields it carries; a new customer gets the defaults for the rest. Name, phone,
email and birthday are personal data: they are never logged nor echoed in error messages
(reads and consents are in `services.customers`). Split from there to keep modules small.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

import sqlalchemy as sa
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from services.actor import Actor
from services.customers import CustomerId, Input, UtcInstant, format_errors
from services.errors import ForbiddenError
from store import audit
from store.base import utcnow
from store.customer import Customer, CustomerKind, Holding
from store.user import Role

BATCH_SIZE = 500
IMPORTERS = (Role.MARKETING_OPS, Role.ADMIN)


class Status(enum.StrEnum):
    ACTIVE, DORMANT, CLOSED = "active", "dormant", "closed"


class Tier(enum.StrEnum):
    MASS, AFFLUENT, PRIVATE = "mass", "affluent", "private"


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _zone(value: str) -> str:
    # A set lookup, not ZoneInfo(value): that would also accept file paths.
    if value not in _zones():
        raise ValueError("not an IANA time zone")
    return value


def _products(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    return [{"product": v} if isinstance(v, str) else v for v in value]


Money = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=2)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=32)]
Scalar = bool | int | float | str | None
AttributeName = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]{0,63}$")]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 -]{4,30}$")]
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class HoldingRow(Input):
    product: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    opened_on: date | None = None


class CustomerRow(Input):
    """One customer as the core systems send it; unknown keys are errors, not ignored."""

    id: CustomerId
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    kind: CustomerKind
    status: Status = Status.ACTIVE
    tier: Tier = Tier.MASS
    level: Annotated[int, Field(ge=1, le=5)] = 1
    segment: Code | None = None
    locale: Literal["zh_CN", "en"] = "zh_CN"
    timezone: Annotated[str, AfterValidator(_zone)] = "Asia/Shanghai"
    region: Code | None = None
    branch: Code | None = None
    relationship_manager: Annotated[str, StringConstraints(max_length=64)] | None = None
    birthday: date | None = None
    opened_on: date | None = None
    total_assets: Money = Decimal(0)
    balance: Money = Decimal(0)
    credit_limit: Money = Decimal(0)
    balance_growth_90d: float = 0.0
    credit_score: Annotated[int, Field(ge=0, le=1000)] | None = None
    last_transaction_at: UtcInstant | None = None
    contract_end_on: date | None = None
    phone: Phone | None = None
    email: Email | None = None
    do_not_disturb: bool = False
    personalisation_opt_out: bool = False
    attributes: dict[AttributeName, Scalar] = Field(default_factory=dict)
    holdings: Annotated[list[HoldingRow], BeforeValidator(_products)] = Field(default_factory=list)


def _insert(session: Session, table: sa.Table) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def _write(session: Session, rows: list[CustomerRow]) -> None:
    """Upsert one batch: the fields each row carries, plus its holdings if it lists them."""
    table, now, groups = Customer.__table__, utcnow(), {}
    for row in rows:  # one statement per set of present fields, so each is an executemany
        values = row.model_dump(exclude={"holdings"}) | {"created_at": now, "updated_at": now}
        groups.setdefault(frozenset(row.model_fields_set - {"holdings"}), []).append(values)
    for present, values in groups.items():
        stmt = _insert(session, table)
        changed = {c: stmt.excluded[c] for c in (*present, "updated_at") if c != "id"}
        session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=changed), values)
    listed = [row for row in rows if "holdings" in row.model_fields_set]
    if listed:  # a row that lists holdings replaces them all: the core system is the truth
        holding = Holding.__table__
        session.execute(holding.delete().where(holding.c.customer_id.in_([r.id for r in listed])))
        held = [h.model_dump() | {"customer_id": r.id} for r in listed for h in r.holdings]
        if held:
            session.execute(holding.insert(), held)


def _check(record: dict | str, seen: dict[str, int]) -> CustomerRow | list[str]:
    """The valid row, or its errors (`record` is a decoding error message if a str)."""
    if isinstance(record, str):
        return [record]
    try:
        row = CustomerRow.model_validate(record)
    except ValidationError as exc:
        return format_errors(exc)
    if row.id in seen:  # which of the two should win is not ours to guess
        return [f"id: also on row {seen[row.id]}"]
    held = [h.product for h in row.holdings]
    if len(set(held)) != len(held):
        return ["holdings: a product is listed twice"]
    return row


def import_rows(
    session: Session, actor: Actor, records: Iterable[tuple[int, dict | str]],
    *, batch_size: int = BATCH_SIZE,
) -> dict[str, Any]:  # fmt: skip
    """Validate and upsert `(row number, record or parse error)`; the per-row report."""
    if not actor.has(*IMPORTERS):
        raise ForbiddenError(f"role {actor.role.value} may not import customers")
    rejected: list[dict[str, Any]] = []
    valid: list[tuple[int, CustomerRow]] = []
    seen: dict[str, int] = {}
    for number, record in records:
        row = _check(record, seen)
        if isinstance(row, list):
            rejected.append({"row": number, "errors": row})
            continue
        seen[row.id] = number
        valid.append((number, row))
    accepted = 0
    for start in range(0, len(valid), batch_size):
        batch = valid[start : start + batch_size]
        try:
            with session.begin_nested():  # the batch commits or rolls back as one
                _write(session, [row for _, row in batch])
            accepted += len(batch)
        except (DataError, IntegrityError) as exc:
            error = f"batch rolled back: the database refused it ({type(exc.orig).__name__})"
            rejected += [{"row": number, "errors": [error]} for number, _ in batch]
    rejected.sort(key=lambda r: r["row"])
    # Counts only: the rows themselves hold personal data, and the import is their record.
    detail = {"accepted": accepted, "rejected": len(rejected)}
    audit.append(session, actor=actor.name, action="customers.imported",
                 subject_type="customer", subject_id="*", detail=detail)  # fmt: skip
    return {"accepted": accepted, "rejected": rejected}
