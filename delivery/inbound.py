"""Inbound SMS: a reply of "TD", "退订" or "STOP" withdraws the sender's marketing consent.

The withdrawal is a `consent` row (channel `all`, purpose `marketing`, granted false, source
`inbound_sms`) for every customer with that phone number, audited like any consent change.
The contact gate lets a withdrawal win over every grant, so each later marketing send to those
customers, in every running campaign and journey, is suppressed as `opted_out`. Keywords are
matched on the whole reply after Unicode normalisation (full-width "ＴＤ" is "TD"), trimmed of
spaces and punctuation and case-folded: a longer message that merely contains "td" is not one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.actor import Actor
from store import audit
from store.customer import Consent, ConsentChannel, ConsentPurpose, Customer

OPT_OUT_KEYWORDS = frozenset({"TD", "退订", "STOP", "UNSUBSCRIBE"})
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class InboundResult:
    opt_out: bool
    customers: int  # customers whose marketing consent was withdrawn


def is_opt_out(text: str) -> bool:
    """Whether a reply is an opt-out keyword."""
    normalised = _NOISE.sub("", unicodedata.normalize("NFKC", text)).upper()
    return normalised in OPT_OUT_KEYWORDS


def phone_variants(phone: str) -> list[str]:
    """The spellings a stored mainland number may have: `13812345678`, `+86…`, `86…`."""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    variants = {phone.strip(), digits}
    if len(digits) == 11:
        variants |= {f"+86{digits}", f"86{digits}", f"+86 {digits}"}
    return sorted(v for v in variants if v)


def record_inbound(
    session: Session, actor: Actor, *, phone: str, text: str, received_at: datetime,
    reference: str | None = None,
) -> InboundResult:  # fmt: skip
    """Apply one inbound SMS; an opt-out withdraws marketing consent for every match."""
    if not is_opt_out(text):
        return InboundResult(opt_out=False, customers=0)
    ids = session.scalars(
        sa.select(Customer.id)
        .where(Customer.phone.in_(phone_variants(phone)))
        .order_by(Customer.id)
        .with_for_update()
    ).all()
    for cid in ids:
        consent = session.scalar(sa.select(Consent).where(
            Consent.customer_id == cid, Consent.channel == ConsentChannel.ALL,
            Consent.purpose == ConsentPurpose.MARKETING))  # fmt: skip
        previous = None if consent is None else consent.granted
        if consent is None:
            consent = Consent(customer_id=cid, channel=ConsentChannel.ALL,
                              purpose=ConsentPurpose.MARKETING)  # fmt: skip
            session.add(consent)
        consent.granted, consent.source, consent.evidence = False, "inbound_sms", reference
        consent.granted_at, consent.expires_at = received_at, None
        session.flush()
        # The phone number stays out of the audit detail: the customer id identifies them.
        audit.append(
            session, actor=actor.name, action="consent.withdrawn", subject_type="customer",
            subject_id=cid, detail={"channel": "all", "purpose": "marketing", "granted": False,
                                    "previous": previous, "source": "inbound_sms",
                                    "evidence": reference, "expires_at": None},
        )  # fmt: skip
    return InboundResult(opt_out=True, customers=len(ids))
