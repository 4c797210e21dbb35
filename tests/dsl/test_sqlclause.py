"""Unit tests of the SQL backend on SQLite and PostgreSQL: each IR node against hand-made
customers (checked against the expected ids and against the Python evaluator), bound
parameters only, code-point string order, and the paths SQL must refuse."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from strategies import Customer, accepted_ids, now_for

from dsl.expr import Ago, And, Arith, BoolField, Compare, FieldRef, Holds, In, IsToday, Lit, Not
from dsl.sqlclause import to_clause
from dsl.types import Type

N, S, D, A, T, B = Type.NUMBER, Type.STRING, Type.DATE, Type.ANNIVERSARY, Type.DATETIME, Type.BOOL
TODAY = dt.date(2023, 2, 28)
NOW = now_for(TODAY)


def f(path: str, type_: Type = N, nullable: bool = False, custom: bool = False) -> FieldRef:
    return FieldRef(path=path, type=type_, nullable=nullable or custom, custom=custom)


def lit(value, type_: Type = N) -> Lit:
    return Lit(type=type_, value=value)


def cmp(left, op, right) -> Compare:
    return Compare(op=op, left=left, right=right)


def customer(id_: str, attributes=None, products=(), consents=(), **columns) -> Customer:
    base = {
        "total_assets": Decimal("100.00"),
        "level": 3,
        "balance_growth_90d": 0.0,
        "credit_score": None,
        "status": "active",
        "tier": "mass",
        "segment": None,
        "contract_end_on": None,
        "birthday": None,
        "last_transaction_at": None,
    }
    base.update(columns)
    values = {f"customer.{k}": v for k, v in base.items()}
    return Customer(id_, values, dict(attributes or {}), set(products), list(consents))


def check(db, expr, customers: list[Customer], expected: set[str], today=TODAY) -> None:
    """SQL selects exactly `expected`, and so does the Python evaluator."""
    db.insert(customers)
    now = now_for(today)
    assert db.select_ids(expr, now=now, today=today) == expected
    assert accepted_ids(expr, customers, now=now, today=today) == expected


ASSETS, SCORE = f("customer.total_assets"), f("customer.credit_score", nullable=True)
MU = f("customer.land_contract_mu", custom=True)


def test_numbers_nulls_and_not(expr_db) -> None:
    people = [customer("a", credit_score=Decimal(7)), customer("b"), customer("c", credit_score=1)]
    check(expr_db, Not(arg=cmp(SCORE, ">=", lit(5))), people, {"b", "c"})


def test_decimal_fractions_and_arithmetic(expr_db) -> None:
    people = [
        customer("a", total_assets=Decimal("0.10"), attributes={"land_contract_mu": 0.1}),
        customer("b", total_assets=Decimal("12.50"), attributes={"land_contract_mu": 2}),
        customer("c", total_assets=Decimal("3.00"), attributes={}),
    ]
    expr = And(
        args=[cmp(ASSETS, ">=", lit(0.1)), cmp(Arith(op="*", left=ASSETS, right=MU), ">", lit(1))]
    )
    check(expr_db, expr, people, {"b"})
    assert expr_db.select_ids(cmp(ASSETS, "==", MU), now=NOW, today=TODAY) == {"a"}


def test_division_by_zero_is_false_not_an_error(expr_db) -> None:
    people = [
        customer("zero", attributes={"land_contract_mu": 0}),
        customer("two", attributes={"land_contract_mu": 2}),
    ]
    ratio = cmp(Arith(op="/", left=ASSETS, right=MU), ">", lit(10))
    check(expr_db, ratio, people, {"two"})
    assert expr_db.select_ids(Not(arg=ratio), now=NOW, today=TODAY) == {"zero"}


def test_in_negated_in_and_code_point_order(expr_db) -> None:
    people = [
        customer("Z", segment="Z"),
        customer("a", segment="a"),
        customer("é", segment="é"),
        customer("none"),
    ]
    segment = f("customer.segment", S, nullable=True)
    check(expr_db, In(item=segment, values=[lit("a", S), lit("Z", S)], negated=True), people, {"é"})
    check_order = cmp(segment, "<", lit("a", S))
    assert expr_db.select_ids(check_order, now=NOW, today=TODAY) == {"Z"}
    assert (
        expr_db.select_ids(In(item=f("customer.level"), values=[lit(3.5)]), now=NOW, today=TODAY)
        == set()
    )


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2023, 2, 28), {"leap", "feb28"}),
        (dt.date(2024, 2, 28), {"feb28"}),
        (dt.date(2024, 2, 29), {"leap"}),
    ],
)
def test_anniversary_29_february(expr_db, today, expected) -> None:
    people = [
        customer("leap", birthday=dt.date(2000, 2, 29), attributes={"kyc_on": "2000-02-29"}),
        customer("feb28", birthday=dt.date(1990, 2, 28), attributes={"kyc_on": "1990-02-28"}),
        customer("mar1", birthday=dt.date(1990, 3, 1)),
        customer("none"),
    ]
    check(expr_db, IsToday(field=f("customer.birthday", A, nullable=True)), people, expected, today)
    custom = IsToday(field=f("customer.kyc_on", A, custom=True))
    assert expr_db.select_ids(custom, now=now_for(today), today=today) == expected


def test_dates_datetimes_and_ago(expr_db) -> None:
    people = [
        customer("edge", last_transaction_at=NOW - dt.timedelta(days=90), contract_end_on=TODAY),
        customer(
            "old",
            last_transaction_at=NOW - dt.timedelta(days=91),
            attributes={"kyc_on": "2023-02-27"},
        ),
        customer("never", attributes={"seen_at": (NOW - dt.timedelta(hours=2)).isoformat()}),
    ]
    last = f("customer.last_transaction_at", T, nullable=True)
    check(expr_db, cmp(last, "<", Ago(type=T, seconds=90 * 86400)), people, {"old"})
    check_more = [
        (cmp(last, "<=", Ago(type=T, seconds=90 * 86400)), {"edge", "old"}),
        (IsToday(field=f("customer.contract_end_on", D, nullable=True)), {"edge"}),
        (cmp(f("customer.kyc_on", D, custom=True), "==", Ago(type=D, seconds=86400)), {"old"}),
        (cmp(f("customer.seen_at", T, custom=True), "<", Ago(type=T, seconds=3600)), {"never"}),
        (
            cmp(
                f("customer.contract_end_on", D, nullable=True),
                ">",
                f("customer.kyc_on", D, custom=True),
            ),
            set(),
        ),
    ]
    for expr, expected in check_more:
        assert expr_db.select_ids(expr, now=NOW, today=TODAY) == expected, expr
        assert accepted_ids(expr, people, now=NOW, today=TODAY) == expected, expr


def test_holds_and_consent(expr_db) -> None:
    later, earlier = NOW + dt.timedelta(days=1), NOW - dt.timedelta(days=1)
    people = [
        customer("sms", products={"mortgage"}, consents=[("sms", "marketing", True, None)]),
        customer(
            "expired",
            consents=[("sms", "marketing", True, earlier), ("all", "marketing", True, later)],
        ),
        customer(
            "at_now",
            consents=[("sms", "marketing", True, NOW), ("email", "marketing", False, None)],
        ),
        customer(
            "service",
            consents=[("sms", "service", True, None), ("all", "personalisation", True, None)],
        ),
    ]
    check(expr_db, BoolField(field=f("consent.sms", B)), people, {"sms"})
    rest = [
        (Holds(product="mortgage"), {"sms"}),
        (BoolField(field=f("consent.marketing", B)), {"expired"}),
        (BoolField(field=f("consent.personalisation", B)), {"service"}),
        (cmp(f("consent.email", B), "==", lit(False, B)), {"sms", "expired", "at_now", "service"}),
        (cmp(f("consent.sms", B), "==", f("consent.email", B)), {"expired", "at_now", "service"}),
    ]
    for expr, expected in rest:
        assert expr_db.select_ids(expr, now=NOW, today=TODAY) == expected, expr
        assert accepted_ids(expr, people, now=NOW, today=TODAY) == expected, expr


def test_custom_booleans_and_strings(expr_db) -> None:
    people = [
        customer("yes", attributes={"vip": True, "nickname": "中文"}),
        customer("no", attributes={"vip": False, "nickname": "Z"}),
        customer("null", attributes={"vip": None}),
        customer("absent"),
    ]
    vip = f("customer.vip", B, custom=True)
    check(expr_db, BoolField(field=vip), people, {"yes"})
    assert expr_db.select_ids(cmp(vip, "==", lit(False, B)), now=NOW, today=TODAY) == {"no"}
    always, never = cmp(lit(True, B), "==", lit(True, B)), cmp(lit(1), "<", lit(0.5))
    assert expr_db.select_ids(always, now=NOW, today=TODAY) == {"yes", "no", "null", "absent"}
    assert expr_db.select_ids(never, now=NOW, today=TODAY) == set()
    nickname = f("customer.nickname", S, custom=True)
    assert expr_db.select_ids(cmp(nickname, ">", lit("z", S)), now=NOW, today=TODAY) == {"yes"}


def test_values_are_bound_parameters_and_strings_use_code_point_collation(expr_schema) -> None:
    expr = And(
        args=[
            cmp(f("customer.status", S), "<", lit("x'; drop table customer; --", S)),
            cmp(ASSETS, ">", lit(123457)),
        ]
    )
    clause = to_clause(expr, expr_schema, now=NOW, today=TODAY)
    pg, lite = (
        str(clause.compile(dialect=postgresql.dialect())),
        str(clause.compile(dialect=sqlite.dialect())),
    )
    assert "drop table" not in pg and "123457" not in pg and "drop table" not in lite
    assert 'COLLATE "C"' in pg and 'COLLATE "BINARY"' in lite


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        (cmp(f("event.amount"), ">", lit(1)), "not available in SQL"),
        (cmp(f("customer.nowhere"), ">", lit(1)), "no column"),
        (
            cmp(f("customer.seen_at", T, custom=True), "<", f("customer.last_transaction_at", T)),
            "unsupported",
        ),
        (ASSETS, "not a condition"),
    ],
)
def test_what_sql_refuses(expr_schema, expr, message) -> None:
    with pytest.raises(ValueError, match=message):
        to_clause(expr, expr_schema, now=NOW, today=TODAY)
