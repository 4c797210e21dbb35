"""The declarative base every table derives from, and the column types they share.

One naming convention names every index and constraint, so migrations are reproducible and a
compiler or DBA can refer to an index by name. `UtcDateTime` keeps datetimes timezone-aware
UTC in Python on every database, `Money` keeps amounts exact `Decimal`s, and `JsonDocument`
is JSONB on PostgreSQL (indexable, queryable) and JSON text elsewhere. Relationships are
declared `lazy="raise"` everywhere: a query that needs related rows must say so, which keeps
N+1 queries out of code that pages through hundreds of millions of customers.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes: timestamptz on PostgreSQL, naive UTC text on SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        return dialect.type_descriptor(sa.DateTime(timezone=dialect.name != "sqlite"))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # A naive datetime has no defined instant; guessing its zone is how clocks drift.
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Money(sa.TypeDecorator[Decimal]):
    """Amounts in currency units with cents: NUMERIC(20, 2), always returned as `Decimal`."""

    impl = sa.Numeric(20, 2)
    cache_ok = True
    _CENT = Decimal("0.01")

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        # SQLite has no decimal type: values live as binary floats (exact to the cent below
        # 10^13), so read the float and round it to cents here instead of trusting a cast.
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Numeric(20, 2, asdecimal=False))
        return dialect.type_descriptor(sa.Numeric(20, 2))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return float(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        # str() of a float is its shortest round-tripping form, so 1234.56 stays 1234.56.
        return Decimal(str(value)).quantize(self._CENT)


# JSONB on PostgreSQL (indexable and normalised); JSON text on SQLite.
JsonDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# 64-bit surrogate keys for high-volume tables; SQLite only autoincrements INTEGER keys.
BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def str_enum(enum_cls: type[enum.StrEnum], name: str) -> sa.Enum:
    """A VARCHAR column with a CHECK constraint listing the enum's values (not native enums)."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    """Declarative base: shared metadata with the naming convention and type map."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UtcDateTime(),
        Decimal: Money(),
        dict[str, Any]: JsonDocument,
    }
