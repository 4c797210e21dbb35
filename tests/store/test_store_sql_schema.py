"""The customer table agrees with the rule language's schema, field by field."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from dsl.expr import And, BoolField, Compare, FieldRef, Holds, Lit
from dsl.schema import CUSTOMER_FIELDS
from dsl.types import Type
from store.base import Money, UtcDateTime
from store.customer import Consent, Customer, Holding
from store.sql_schema import NOT_COLUMNS, customer_columns

# Which column types can carry each language type.
COLUMN_TYPES = {
    Type.STRING: (sa.String, sa.Enum),
    Type.NUMBER: (sa.Integer, sa.Float, Money),
    Type.DATE: (sa.Date,),
    Type.ANNIVERSARY: (sa.Date,),
    Type.DATETIME: (UtcDateTime,),
}


def test_every_customer_field_is_a_column_of_matching_type_and_nullability() -> None:
    columns = customer_columns()
    assert set(columns) == set(CUSTOMER_FIELDS) - set(NOT_COLUMNS)
    for path, column in columns.items():
        field = CUSTOMER_FIELDS[path]
        assert column.table is Customer.__table__
        assert column.nullable == field.nullable, path
        assert isinstance(column.type, COLUMN_TYPES[field.type]), (path, column.type)


def test_products_live_in_the_holding_table() -> None:
    assert CUSTOMER_FIELDS["customer.products"].type is Type.PRODUCTS
    assert NOT_COLUMNS == {"customer.products": "holding"}


def test_sql_schema_for_the_dsl_backend() -> None:
    pytest.importorskip("dsl.sqlclause")
    from store.sql_schema import customer_sql_schema

    schema = customer_sql_schema()
    table = Customer.__table__
    assert schema.customer_id is table.c.id
    assert schema.attributes is table.c.attributes
    assert schema.columns["customer.total_assets"] is table.c.total_assets
    assert {"customer_id", "product"} <= set(schema.holding.c.keys())
    assert {"customer_id", "channel", "purpose", "granted", "expires_at"} <= set(
        schema.consent.c.keys()
    )


def test_compiled_audience_runs_on_the_real_tables(session) -> None:
    sqlclause = pytest.importorskip("dsl.sqlclause")
    from store.sql_schema import customer_sql_schema

    now = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    for number, assets in (("C1", "60000.00"), ("C2", "40000.00")):
        session.add(Customer(
            id=number, name="n", kind="retail", status="active", tier="mass", level=1,
            locale="zh_CN", timezone="Asia/Shanghai", total_assets=Decimal(assets),
            balance=Decimal(0), credit_limit=Decimal(0), balance_growth_90d=0.0,
            last_transaction_at=now - timedelta(days=120), attributes={"land_mu": 3.5},
        ))  # fmt: skip
        session.flush()
        session.add(Holding(customer_id=number, product="mortgage"))
        session.add(Consent(customer_id=number, channel="sms", purpose="marketing",
                            granted=True, source="app", granted_at=now))  # fmt: skip
    session.commit()

    def field(path: str, type_: Type, **kw) -> FieldRef:
        return FieldRef(path=path, type=type_, **kw)

    expr = And(args=[
        Compare(op=">=", left=field("customer.total_assets", Type.NUMBER),
                right=Lit(type=Type.NUMBER, value=50_000)),
        Compare(op="==", left=field("customer.status", Type.STRING),
                right=Lit(type=Type.STRING, value="active")),
        Compare(op=">", left=field("customer.land_mu", Type.NUMBER, nullable=True, custom=True),
                right=Lit(type=Type.NUMBER, value=3)),
        Holds(product="mortgage"),
        BoolField(field=field("consent.sms", Type.BOOL)),
    ])  # fmt: skip
    clause = sqlclause.to_clause(expr, customer_sql_schema(), now=now, today=date(2024, 6, 1))
    found = session.scalars(sa.select(Customer.id).where(clause).order_by(Customer.id)).all()
    assert found == ["C1"]
