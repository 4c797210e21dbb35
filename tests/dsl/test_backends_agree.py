"""Property test: the Python evaluator and the SQL clause select the same customers.

Two hundred edge-heavy customers are inserted once per database (SQLite and PostgreSQL); then
hypothesis draws well-typed expressions and a `today`, and the ids SQL selects must equal the
ids the compiled Python predicate accepts on the same customers.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import TODAYS, Customer, accepted_ids, now_for, predicates, random_customer

CUSTOMERS = [random_customer(random.Random(seed), f"c{seed:03d}") for seed in range(200)]


@pytest.fixture
def populated(expr_db):
    expr_db.insert(CUSTOMERS)
    return expr_db


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(expr=predicates(), today=st.sampled_from(TODAYS))
def test_sql_and_python_select_the_same_customers(populated, expr, today) -> None:
    now = now_for(today)
    expected = accepted_ids(expr, CUSTOMERS, now=now, today=today)
    assert populated.select_ids(expr, now=now, today=today) == expected, expr


def test_the_customers_cover_the_edges() -> None:
    """The fixed batch really contains the boundary cases the property test relies on."""
    columns = [c.columns for c in CUSTOMERS]
    assert any(c["customer.birthday"] is None for c in columns)
    assert any(c["customer.birthday"] and c["customer.birthday"].day == 29 for c in columns)
    assert any(c["customer.credit_score"] is None for c in columns)
    assert any("land_contract_mu" not in c.attributes for c in CUSTOMERS)
    assert any(c.attributes.get("land_contract_mu") == 0 for c in CUSTOMERS)
    assert all(isinstance(c, Customer) for c in CUSTOMERS)
