"""Customer routes: bulk upsert from the core systems, masked reads, consent changes.

`POST /v1/customers:bulk` takes JSON lines (`application/x-ndjson`, one object per line) or
CSV (`text/csv`, a header row; `attributes.<name>` columns fill `attributes`, `holdings` is a
`;`-separated product list). The route only decodes the body into numbered records (row =
line number for JSON lines, record number after the header for CSV); `services.customer_import`
validates, writes in atomic batches and reports every rejected row. CSV from Excel in China is
often GB18030 rather than UTF-8, so that is accepted too. Personal data is never logged here.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel

from api.deps import SessionDep, require_roles
from api.problems import responses
from services import customer_import, customers
from services.actor import Actor
from services.errors import DomainError
from store.user import Role

router = APIRouter(tags=["customers"])
CustomerId = Annotated[str, Path(pattern=customers.CUSTOMER_ID, description="Customer.")]
AnyRole = Annotated[Actor, Depends(require_roles(*Role))]  # every authenticated user reads
_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")  # "0012" stays text: a code, not 12
_BODY = {"schema": {"type": "string"}}
BULK_BODY = {"requestBody": {"required": True, "content": {
    "application/x-ndjson": _BODY, "text/csv": _BODY}}}  # fmt: skip


class UnsupportedMediaType(DomainError):
    status = 415
    title = "Unsupported media type"


class ImportReport(BaseModel):
    accepted: int
    rejected: list[dict[str, Any]]


class HoldingOut(BaseModel):
    product: str
    opened_on: date | None


class ConsentOut(BaseModel):
    channel: str
    purpose: str
    granted: bool
    source: str
    evidence: str | None
    granted_at: datetime
    expires_at: datetime | None


class CustomerOut(BaseModel):
    id: str
    name: str
    kind: str
    status: str
    tier: str
    level: int
    segment: str | None
    locale: str
    timezone: str
    region: str | None
    branch: str | None
    relationship_manager: str | None
    birthday: date | None
    opened_on: date | None
    total_assets: Decimal
    balance: Decimal
    credit_limit: Decimal
    balance_growth_90d: float
    credit_score: int | None
    last_transaction_at: datetime | None
    contract_end_on: date | None
    phone: str | None
    email: str | None
    do_not_disturb: bool
    personalisation_opt_out: bool
    attributes: dict[str, Any]
    holdings: list[HoldingOut]
    consents: list[ConsentOut]
    masked: bool
    created_at: datetime
    updated_at: datetime


async def _raw_body(request: Request) -> bytes:
    return await request.body()


def _cell(value: str) -> Any:
    """A CSV cell for `attributes`: numbers and booleans typed, the rest text."""
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    if _NUMBER.match(value):
        return float(value) if "." in value else int(value)
    return value


def _ndjson(body: bytes) -> Iterator[tuple[int, dict | str]]:
    for number, line in enumerate(body.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):  # also bad UTF-8 and absurdly deep nesting
            yield number, "not valid JSON"
            continue
        yield number, record if isinstance(record, dict) else "not a JSON object"


def _csv(body: bytes) -> Iterator[tuple[int, dict | str]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = body.decode("gb18030", errors="replace")
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="\x00extra")
    number = 0
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over the size limit: the rest is unreadable
            yield number, f"not valid CSV from here on ({exc})"
            return
        if "\x00extra" in cells:
            yield number, "the row has more cells than the header"
            continue
        record: dict[str, Any] = {}
        for key, value in cells.items():
            if value is None or value == "":
                continue  # an empty cell leaves the field as it is
            if key.startswith("attributes."):
                record.setdefault("attributes", {})[key.removeprefix("attributes.")] = _cell(value)
            elif key == "holdings":
                record["holdings"] = [p.strip() for p in value.split(";") if p.strip()]
            else:
                record[key] = value
        yield number, record


@router.post("/customers:bulk", response_model=ImportReport, openapi_extra=BULK_BODY,
             responses=responses(415))  # fmt: skip
def bulk_import(
    request: Request,
    body: Annotated[bytes, Depends(_raw_body)],
    session: SessionDep,
    actor: Annotated[Actor, Depends(require_roles(Role.MARKETING_OPS, Role.ADMIN))],
) -> Any:
    """Upsert customers from JSON lines or CSV; reports every rejected row with its errors."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    decoders = {"application/x-ndjson": _ndjson, "application/jsonl": _ndjson, "text/csv": _csv}
    if media_type not in decoders:
        raise UnsupportedMediaType("send application/x-ndjson (JSON lines) or text/csv")
    return customer_import.import_rows(session, actor, decoders[media_type](body))


@router.get("/customers/{customer_id}", response_model=CustomerOut, responses=responses(404))
def get_customer(customer_id: CustomerId, session: SessionDep, actor: AnyRole) -> Any:
    """One customer with holdings and consents; personal data masked unless your role serves
    customers in person (service desk, relationship managers, administrators)."""
    return customers.get_customer(session, actor, customer_id)


@router.put("/customers/{customer_id}/consents/{channel}/{purpose}", response_model=ConsentOut,
            responses=responses(404))  # fmt: skip
def put_consent(
    customer_id: CustomerId,
    channel: Annotated[str, Path(max_length=32)],
    purpose: Annotated[str, Path(max_length=32)],
    body: customers.ConsentUpdate,
    session: SessionDep,
    actor: Annotated[Actor, Depends(require_roles(Role.SERVICE_DESK, Role.SALES, Role.ADMIN))],
) -> Any:
    """Record the customer's consent decision for a channel and purpose (audited)."""
    return customers.set_consent(session, actor, customer_id, channel, purpose, body)
