"""Reading a customer (personal data masked by role) and recording consent decisions.

Name, phone, email and birthday are personal data. Staff who serve the customer in person
(service desk, relationship managers, administrators) read them in full; everyone else sees
them masked (`138****5678`, `张*`) or, for the birthday, not at all, so a marketing or
compliance user can check a record without collecting contact details; every unmasked read is
audited (`customer.viewed`, once a day per reader and customer), so who saw a customer's
personal data can be answered. A consent change is a legal record: it keeps its source and
evidence, a withdrawal is stored rather than deleted, and every change is written to the audit
log with the acting user in the same transaction. Bulk import lives in
`services.customer_import`; the input rules shared by every customer and event payload
(`Input`, `CustomerId`, `UtcInstant`, `format_errors`) live here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationError,
    model_validator,
)
from sqlalchemy.orm import Session

from services.actor import Actor
from services.errors import ForbiddenError, InvalidError, NotFoundError
from store import audit
from store.base import utcnow
from store.customer import Consent, ConsentChannel, ConsentPurpose, Customer, Holding
from store.user import Role

# Who sees personal data unmasked: the people who talk to the customer.
UNMASKED = (Role.SERVICE_DESK, Role.SALES, Role.ADMIN)
# Who records consent: the people the customer tells (at the counter, on the phone).
CONSENT_RECORDERS = (Role.SERVICE_DESK, Role.SALES, Role.ADMIN)
_CUSTOMER_FIELDS = [c.key for c in Customer.__table__.columns]
CUSTOMER_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"
_SHORT = {
    "missing": "required", "extra_forbidden": "unknown field", "date_type": "not a date",
    "date_from_datetime_parsing": "not a date", "date_parsing": "not a date",
    "datetime_parsing": "not a datetime", "timezone_aware": "needs a time zone offset",
    "string_pattern_mismatch": "bad format",
}  # fmt: skip


def _utc(value: datetime) -> datetime:
    try:  # 9999-12-31T23:00-10:00 is past year 9999 in UTC, where it is stored
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range") from None


def has_nul(value: Any) -> bool:
    """Whether a string anywhere in `value` holds NUL, which PostgreSQL cannot store."""
    pending = [value]  # a stack, not recursion: decoded JSON may nest deeply
    while pending:
        item = pending.pop()
        if isinstance(item, str) and "\x00" in item:
            return True
        if isinstance(item, dict):
            pending += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            pending += item
    return False


def format_errors(exc: ValidationError) -> list[str]:
    """`field: message` per error, without the input (it may be personal data)."""
    return [f"{'.'.join(map(str, e['loc'])) or 'record'}: {_SHORT.get(e['type'], e['msg'])}"
            for e in exc.errors(include_input=False)]  # fmt: skip


CustomerId = Annotated[str, StringConstraints(pattern=CUSTOMER_ID)]
UtcInstant = Annotated[AwareDatetime, AfterValidator(_utc)]


class Input(BaseModel):
    """Input from outside: unknown keys are errors, numbers finite, text free of NUL."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if has_nul(data):
            raise ValueError("text must not contain NUL characters")
        return data


class ConsentUpdate(Input):
    granted: bool
    # Where the customer said it: "branch", "mobile_app", "call_centre", ...
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    # A reference to the signed form or call recording, never the document itself.
    evidence: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    expires_at: UtcInstant | None = None


def mask_phone(phone: str) -> str:
    """`13812345678` -> `138****5678`: the prefix and last four digits stay recognisable."""
    if len(phone) <= 7:
        return "*" * max(len(phone) - 2, 0) + phone[-2:]
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_name(name: str) -> str:
    """`张三丰` -> `张**`: the family name only (spaces kept for Latin names)."""
    return name[:1] + "".join(" " if ch == " " else "*" for ch in name[1:])


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def get_customer(session: Session, actor: Actor, customer_id: str) -> dict[str, Any]:
    """The customer with holdings and consents; personal data masked unless the role serves."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFoundError(f"no customer {customer_id!r}")
    record = {field: getattr(customer, field) for field in _CUSTOMER_FIELDS}
    holdings = session.scalars(sa.select(Holding).where(Holding.customer_id == customer_id)
                               .order_by(Holding.product))  # fmt: skip
    consents = session.scalars(sa.select(Consent).where(Consent.customer_id == customer_id)
                               .order_by(Consent.channel, Consent.purpose))  # fmt: skip
    record["holdings"] = [{"product": h.product, "opened_on": h.opened_on} for h in holdings]
    record["consents"] = [_consent(c) for c in consents]
    record["masked"] = not actor.has(*UNMASKED)
    if record["masked"]:
        record["name"] = mask_name(customer.name)
        record["phone"] = customer.phone and mask_phone(customer.phone)
        record["email"] = customer.email and mask_email(customer.email)
        record["birthday"] = None
    elif not _viewed_today(session, actor.name, customer_id):
        # PIPL: who saw a customer's personal data in full is answerable later. Once a day per
        # reader and customer: an agent on a call reopens the record many times, and every
        # entry takes the audit chain's append lock.
        audit.append(session, actor=actor.name, action="customer.viewed",
                     subject_type="customer", subject_id=customer_id,
                     detail={"unmasked": ["name", "phone", "email", "birthday"]})  # fmt: skip
    return record


def _viewed_today(session: Session, reader: str, customer_id: str) -> bool:
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    entry = audit.AuditEntry
    return session.scalar(
        sa.select(sa.exists().where(
            entry.subject_type == "customer", entry.subject_id == customer_id,
            entry.action == "customer.viewed", entry.actor == reader,
            entry.occurred_at >= midnight,
        ))
    )  # fmt: skip


def _consent(consent: Consent) -> dict[str, Any]:
    fields = ("channel", "purpose", "granted", "source", "evidence", "granted_at", "expires_at")
    return {field: getattr(consent, field) for field in fields}


def set_consent(
    session: Session, actor: Actor, customer_id: str, channel: str, purpose: str,
    update: ConsentUpdate, *, now: datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Record that the customer granted or withdrew consent for `channel` and `purpose`."""
    if not actor.has(*CONSENT_RECORDERS):
        raise ForbiddenError(f"role {actor.role.value} may not record consent")
    try:
        channel_, purpose_ = ConsentChannel(channel), ConsentPurpose(purpose)
    except ValueError:
        raise InvalidError(
            f"unknown consent {channel!r}/{purpose!r}: channel is one of "
            f"{', '.join(ConsentChannel)}; purpose is one of {', '.join(ConsentPurpose)}"
        ) from None
    now = now or utcnow()
    if update.expires_at is not None and update.expires_at <= now:
        raise InvalidError("expires_at is in the past: record a withdrawal instead")
    # Locked: two desks recording the same consent at once must not lose one of the records.
    if session.scalar(sa.select(Customer.id).where(Customer.id == customer_id)
                      .with_for_update()) is None:  # fmt: skip
        raise NotFoundError(f"no customer {customer_id!r}")
    consent = session.scalar(sa.select(Consent).where(
        Consent.customer_id == customer_id, Consent.channel == channel_,
        Consent.purpose == purpose_))  # fmt: skip
    previous = None if consent is None else consent.granted
    if consent is None:
        consent = Consent(customer_id=customer_id, channel=channel_, purpose=purpose_)
        session.add(consent)
    consent.granted, consent.source = update.granted, update.source
    consent.evidence, consent.granted_at, consent.expires_at = (
        update.evidence,
        now,
        update.expires_at,
    )
    session.flush()
    action = "consent.granted" if update.granted else "consent.withdrawn"
    audit.append(
        session, actor=actor.name, action=action, subject_type="customer", subject_id=customer_id,
        detail={"channel": channel_.value, "purpose": purpose_.value, "granted": update.granted,
                "previous": previous, "source": update.source, "evidence": update.evidence,
                "expires_at": update.expires_at and update.expires_at.isoformat()},
    )  # fmt: skip
    return _consent(consent)
