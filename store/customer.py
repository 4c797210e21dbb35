"""Customers, the products they hold and their contact consents.

These are the tables rule audiences are selected from: `dsl.schema.CUSTOMER_FIELDS` names a
column here for every `customer.*` path (nullability matches), `customer.holds("x")` reads
`holding`, and `consent.<channel>` reads `consent`. The rows are synced from the bank's core
systems; rulebank reads them and never invents customer data. Name, phone, email and birthday
are personal data: they never leave the database in workflow payloads, only customer ids do.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.base import Base, BigIntId, JsonDocument, str_enum, utcnow


class CustomerKind(enum.StrEnum):
    RETAIL = "retail"
    CORPORATE = "corporate"


class ConsentChannel(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"
    PHONE = "phone"
    ALL = "all"


class ConsentPurpose(enum.StrEnum):
    MARKETING = "marketing"
    SERVICE = "service"
    PERSONALISATION = "personalisation"


class Customer(Base):
    __tablename__ = "customer"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)  # the customer number
    name: Mapped[str] = mapped_column(sa.String(200))  # personal data
    kind: Mapped[CustomerKind] = mapped_column(str_enum(CustomerKind, "kind"))
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    tier: Mapped[str] = mapped_column(sa.String(16))
    level: Mapped[int] = mapped_column(sa.Integer)
    segment: Mapped[str | None] = mapped_column(sa.String(32))
    locale: Mapped[str] = mapped_column(sa.String(16))
    timezone: Mapped[str] = mapped_column(sa.String(64))
    region: Mapped[str | None] = mapped_column(sa.String(32))
    branch: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    relationship_manager: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    birthday: Mapped[date | None] = mapped_column(sa.Date)  # personal data
    opened_on: Mapped[date | None] = mapped_column(sa.Date)
    # Money is NUMERIC(20, 2), never float: audiences compare exact amounts in SQL.
    total_assets: Mapped[Decimal]
    balance: Mapped[Decimal]
    credit_limit: Mapped[Decimal]
    balance_growth_90d: Mapped[float] = mapped_column(sa.Float)  # a ratio, not money
    credit_score: Mapped[int | None] = mapped_column(sa.Integer)
    last_transaction_at: Mapped[datetime | None] = mapped_column(index=True)
    contract_end_on: Mapped[date | None] = mapped_column(sa.Date)
    # Personal data: contact details are read only at send time, inside delivery activities.
    # Indexed: an inbound SMS opt-out ("TD") names the customer by phone number only.
    phone: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    email: Mapped[str | None] = mapped_column(sa.String(254))
    # Contact-policy switches checked at send time, whatever a rule says.
    do_not_disturb: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    personalisation_opt_out: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Ruleset-declared custom fields (`field customer.x: type`), keyed by the name after `customer.`
    attributes: Mapped[dict[str, Any]] = mapped_column(
        JsonDocument, default=dict, server_default=sa.text("'{}'")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    holdings: Mapped[list[Holding]] = relationship(
        back_populates="customer", lazy="raise", passive_deletes=True
    )
    consents: Mapped[list[Consent]] = relationship(
        back_populates="customer", lazy="raise", passive_deletes=True
    )


class Holding(Base):
    """One product a customer holds (`customer.holds("mortgage")`)."""

    __tablename__ = "holding"
    __table_args__ = (sa.UniqueConstraint("customer_id", "product"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    # No separate index on customer_id: the unique constraint's leading column serves it.
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customer.id", ondelete="CASCADE"))
    product: Mapped[str] = mapped_column(sa.String(64))
    opened_on: Mapped[date | None] = mapped_column(sa.Date)

    customer: Mapped[Customer] = relationship(back_populates="holdings", lazy="raise")


class Consent(Base):
    """A customer's recorded consent decision for one channel and purpose.

    Consent is a legal record: `source` says where it was given (branch, app, call centre) and
    `evidence` references the signed form or recording. A row with `granted` false is a
    withdrawal and is kept, not deleted; an expired consent counts as not granted.
    """

    __tablename__ = "consent"
    __table_args__ = (sa.UniqueConstraint("customer_id", "channel", "purpose"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customer.id", ondelete="CASCADE"))
    channel: Mapped[ConsentChannel] = mapped_column(str_enum(ConsentChannel, "channel"))
    purpose: Mapped[ConsentPurpose] = mapped_column(str_enum(ConsentPurpose, "purpose"))
    granted: Mapped[bool]
    source: Mapped[str] = mapped_column(sa.String(64))
    evidence: Mapped[str | None] = mapped_column(sa.String(200))
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship(back_populates="consents", lazy="raise")
