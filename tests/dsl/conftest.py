"""Fixtures for the expression backends: throwaway customer, holding and consent tables.

`expr_db` builds `expr_<random>_*` tables in the database of `database_url` (SQLite and
PostgreSQL), so the SQL backend runs against real engines, and drops them afterwards because the
PostgreSQL database is shared by the whole session. `UtcDateTime` stands in for the storage
layer's equivalent: aware UTC in Python, naive UTC text on SQLite, timestamptz on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from strategies import Customer

from dsl.sqlclause import SqlSchema, to_clause


class UtcDateTime(sa.TypeDecorator):
    """Aware UTC datetimes in Python; stored so that comparisons work on both databases."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        timezone = dialect.name == "postgresql"
        return dialect.type_descriptor(sa.DateTime(timezone=timezone))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = value.astimezone(dt.UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


@dataclass
class ExprDb:
    """Tables plus the `SqlSchema` over them, and helpers to fill and query them."""

    engine: sa.Engine
    customer: sa.Table
    schema: SqlSchema

    def insert(self, customers: Iterable[Customer]) -> None:
        customers = list(customers)
        rows = [
            {
                "id": c.id,
                "attributes": c.attributes,
                **{path.removeprefix("customer."): v for path, v in c.columns.items()},
            }
            for c in customers
        ]
        holdings = [{"customer_id": c.id, "product": p} for c in customers for p in c.products]
        consents = [
            dict(zip(("channel", "purpose", "granted", "expires_at"), row, strict=True))
            | {"customer_id": c.id}
            for c in customers
            for row in c.consents
        ]
        with self.engine.begin() as conn:
            conn.execute(self.customer.insert(), rows)
            if holdings:
                conn.execute(self.schema.holding.insert(), holdings)
            if consents:
                conn.execute(self.schema.consent.insert(), consents)

    def select_ids(self, expr, *, now: dt.datetime, today: dt.date) -> set[str]:
        """Ids of the customers the SQL backend selects."""
        clause = to_clause(expr, self.schema, now=now, today=today)
        with self.engine.connect() as conn:
            return set(conn.scalars(sa.select(self.customer.c.id).where(clause)))


def _text() -> sa.types.TypeEngine:
    # A locale-aware collation on PostgreSQL (as production databases have) so the tests prove
    # string ordering does not depend on it; ICU ships with PostgreSQL's usual builds.
    return sa.String(20).with_variant(sa.String(20, collation="und-x-icu"), "postgresql")


def make_tables(metadata: sa.MetaData, prefix: str) -> tuple[sa.Table, sa.Table, sa.Table]:
    """The customer, holding and consent tables the expression tests query."""
    customer = sa.Table(
        f"{prefix}_customer",
        metadata,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("status", _text(), nullable=False),
        sa.Column("tier", _text(), nullable=False),
        sa.Column("segment", _text()),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("total_assets", sa.Numeric(18, 2), nullable=False),
        sa.Column("balance_growth_90d", sa.Float, nullable=False),
        sa.Column("credit_score", sa.Numeric(10, 2)),
        sa.Column("birthday", sa.Date),
        sa.Column("contract_end_on", sa.Date),
        sa.Column("last_transaction_at", UtcDateTime),
        sa.Column("attributes", sa.JSON, nullable=False),
    )
    holding = sa.Table(
        f"{prefix}_holding",
        metadata,
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("product", sa.String(40), nullable=False),
    )
    consent = sa.Table(
        f"{prefix}_consent",
        metadata,
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("granted", sa.Boolean, nullable=False),
        sa.Column("expires_at", UtcDateTime),
    )
    return customer, holding, consent


def schema_for(customer: sa.Table, holding: sa.Table, consent: sa.Table) -> SqlSchema:
    """The `SqlSchema` the storage layer would build over these tables."""
    skip = ("id", "attributes")
    columns = {f"customer.{c.name}": c for c in customer.columns if c.name not in skip}
    return SqlSchema(customer.c.id, columns, customer.c.attributes, holding, consent)


@pytest.fixture(scope="session")
def expr_schema() -> SqlSchema:
    """A `SqlSchema` over the test tables, for compiling clauses without a database."""
    return schema_for(*make_tables(sa.MetaData(), "expr_compile"))


@pytest.fixture
def expr_db(database_url: str) -> Iterator[ExprDb]:
    """Empty expression-test tables on SQLite and on PostgreSQL, dropped afterwards."""
    metadata = sa.MetaData()
    customer, holding, consent = make_tables(metadata, f"expr_{uuid.uuid4().hex[:8]}")
    schema = schema_for(customer, holding, consent)
    engine = sa.create_engine(database_url)
    metadata.create_all(engine)
    try:
        yield ExprDb(engine, customer, schema)
    finally:
        metadata.drop_all(engine)
        engine.dispose()
