"""The real customer tables, handed to the rule language's SQL backend as a `SqlSchema`.

`dsl` knows no storage: its SQL backend compiles audience predicates against whatever columns
it is given. This module is the bridge: every `customer.*` path of `dsl.schema.CUSTOMER_FIELDS`
maps to the customer column of the same name (`customer.products` is the `holding` table, not
a column), ruleset-declared fields to the JSON `attributes` column.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import sqlalchemy as sa

from dsl.schema import CUSTOMER_FIELDS
from store.customer import Consent, Customer, Holding

if TYPE_CHECKING:
    from dsl.sqlclause import SqlSchema

# Paths that are not customer columns, with where they live instead.
NOT_COLUMNS = {"customer.products": "holding"}


def customer_columns() -> dict[str, sa.ColumnElement]:
    """Every builtin `customer.*` field path mapped to its customer-table column."""
    table = Customer.__table__
    return {
        path: table.c[path.removeprefix("customer.")]
        for path in CUSTOMER_FIELDS
        if path not in NOT_COLUMNS
    }


@cache
def customer_sql_schema() -> SqlSchema:
    """The `dsl.sqlclause.SqlSchema` for the customer, holding and consent tables."""
    # Imported here so storage imports cleanly even where the SQL backend is not installed.
    from dsl.sqlclause import SqlSchema

    customer = Customer.__table__
    return SqlSchema(
        customer_id=customer.c.id,
        columns=customer_columns(),
        attributes=customer.c.attributes,
        holding=Holding.__table__,
        consent=Consent.__table__,
    )
