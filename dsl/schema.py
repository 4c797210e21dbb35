"""The one schema of every field a rule may name: customer, consent, ticket, lead and event.

The checker resolves identifiers only through this table (there is no other way to reach data),
and the SQL backend maps the customer paths onto columns. A ruleset may extend the customer with
`field customer.x: type` declarations; those live in the customer's JSON `attributes` column.
`nullable` fields are guarded in both expression backends so SQL and Python agree on NULL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dsl.types import Type


@dataclass(frozen=True, slots=True)
class Field:
    path: str
    type: Type
    nullable: bool = False
    custom: bool = False  # declared by the ruleset, stored in customer.attributes
    doc: str = ""


def _fields(*specs: tuple) -> dict[str, Field]:
    return {spec[0]: Field(*spec) for spec in specs}


CUSTOMER_FIELDS = _fields(
    ("customer.id", Type.STRING, False, False, "stable customer number"),
    ("customer.name", Type.STRING, False, False, "full name (personal data)"),
    ("customer.kind", Type.STRING, False, False, "retail | corporate"),
    ("customer.status", Type.STRING, False, False, "active | dormant | closed"),
    ("customer.tier", Type.STRING, False, False, "mass | affluent | private"),
    ("customer.level", Type.NUMBER, False, False, "service level 1-5"),
    ("customer.segment", Type.STRING, True, False, "bank's own segment code"),
    ("customer.locale", Type.STRING, False, False, "zh_CN | en"),
    ("customer.timezone", Type.STRING, False, False, "IANA time zone"),
    ("customer.region", Type.STRING, True, False, "province or region code"),
    ("customer.branch", Type.STRING, True, False, "home branch code"),
    ("customer.relationship_manager", Type.STRING, True, False, "RM user name"),
    ("customer.birthday", Type.ANNIVERSARY, True, False, "date of birth"),
    ("customer.opened_on", Type.ANNIVERSARY, True, False, "relationship start date"),
    ("customer.total_assets", Type.NUMBER, False, False, "assets under management, CNY"),
    ("customer.balance", Type.NUMBER, False, False, "current deposit balance, CNY"),
    ("customer.balance_growth_90d", Type.NUMBER, False, False, "balance growth ratio, 90 days"),
    ("customer.credit_limit", Type.NUMBER, False, False, "card credit limit, CNY"),
    ("customer.credit_score", Type.NUMBER, True, False, "internal score"),
    ("customer.last_transaction_at", Type.DATETIME, True, False, "last customer transaction"),
    ("customer.contract_end_on", Type.DATE, True, False, "end of the main contract"),
    ("customer.products", Type.PRODUCTS, False, False, "products held, see holds()"),
)

# `consent.<channel>` reads whether the customer consented to marketing on that channel.
CONSENT_FIELDS = _fields(
    ("consent.sms", Type.BOOL),
    ("consent.email", Type.BOOL),
    ("consent.push", Type.BOOL),
    ("consent.phone", Type.BOOL),
    ("consent.marketing", Type.BOOL),
    ("consent.personalisation", Type.BOOL),
)

TICKET_FIELDS = _fields(
    ("ticket.id", Type.STRING),
    ("ticket.category", Type.STRING),
    ("ticket.priority", Type.STRING),
    ("ticket.status", Type.STRING),
    ("ticket.channel", Type.STRING),
    ("ticket.team", Type.STRING),
    ("ticket.assignee", Type.STRING, True),
    ("ticket.named_employee", Type.STRING, True),
    ("ticket.regulatory", Type.BOOL),
    ("ticket.opened_at", Type.DATETIME),
    ("ticket.reported_at", Type.DATETIME, True),
)

LEAD_FIELDS = _fields(
    ("lead.id", Type.STRING),
    ("lead.source", Type.STRING),
    ("lead.kind", Type.STRING),
    ("lead.status", Type.STRING),
    ("lead.region", Type.STRING),
    ("lead.product", Type.STRING, True),
    ("lead.expected_value", Type.NUMBER),
    ("lead.owner", Type.STRING, True),
    ("lead.customer_level", Type.NUMBER),
    ("lead.contract_end_on", Type.DATE, True),
    ("lead.created_at", Type.DATETIME),
)

EVENT_FIELDS = _fields(
    ("event.type", Type.STRING),
    ("event.amount", Type.NUMBER),
    ("event.currency", Type.STRING),
    ("event.channel", Type.STRING),
    ("event.merchant_category", Type.STRING, True),
    ("event.product", Type.STRING, True),
    ("event.occurred_at", Type.DATETIME),
)

BUILTIN_FIELDS: Mapping[str, Field] = {
    **CUSTOMER_FIELDS,
    **CONSENT_FIELDS,
    **TICKET_FIELDS,
    **LEAD_FIELDS,
    **EVENT_FIELDS,
}

# Field types a ruleset may declare for its own customer attributes.
DECLARABLE_TYPES: Mapping[str, Type] = {
    "number": Type.NUMBER,
    "string": Type.STRING,
    "bool": Type.BOOL,
    "date": Type.DATE,
    "datetime": Type.DATETIME,
}

# Events the ingest path knows; `on event X` must name one of these.
EVENT_TYPES = (
    "transfer.completed",
    "card.transaction",
    "account.opened",
    "account.closed",
    "deposit.matured",
    "loan.applied",
    "app.login",
    "complaint.filed",
    "customer.transacted",
)

# Channels a message can go out on and the recipients of tasks/notifications.
CHANNELS = ("sms", "email", "push")
ENTITIES = ("customer", "consent", "ticket", "lead", "event")
