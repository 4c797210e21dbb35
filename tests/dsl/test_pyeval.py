"""Unit tests of the Python backend: every IR node, the NULL and zero-divisor guards, time
thresholds fixed at bind time, numbers of mixed Python types, and the shape of the code."""

from __future__ import annotations

import datetime as dt
import dis
from decimal import Decimal

import pytest

from dsl.expr import (
    Ago,
    And,
    Arith,
    BoolField,
    Compare,
    FieldRef,
    Holds,
    In,
    IsToday,
    Lit,
    Neg,
    Not,
    Or,
)
from dsl.pyeval import compile_predicate, compile_value
from dsl.types import Type

N, S, D, A, T, B = Type.NUMBER, Type.STRING, Type.DATE, Type.ANNIVERSARY, Type.DATETIME, Type.BOOL
TODAY = dt.date(2023, 2, 28)  # not a leap year: 29 Feb birthdays are celebrated today
NOW = dt.datetime(2023, 2, 28, 10, tzinfo=dt.UTC)


def f(path: str, type_: Type = N, nullable: bool = False, custom: bool = False) -> FieldRef:
    return FieldRef(path=path, type=type_, nullable=nullable or custom, custom=custom)


def lit(value, type_: Type = N) -> Lit:
    return Lit(type=type_, value=value)


def cmp(left, op, right) -> Compare:
    return Compare(op=op, left=left, right=right)


def run(expr, record, *, now=NOW, today=TODAY):
    return compile_predicate(expr).bind(now, today)(record)


ASSETS, SCORE = f("customer.total_assets"), f("customer.credit_score", nullable=True)
MU = f("customer.land_contract_mu", custom=True)
BENCH = And(
    args=[
        cmp(ASSETS, ">=", lit(50_000)),
        cmp(f("customer.status", S), "==", lit("active", S)),
        In(item=f("customer.level"), values=[lit(3), lit(4), lit(5)]),
    ]
)


def test_compiles_to_the_same_bytecode_as_a_hand_written_lambda() -> None:
    def hand(r):
        return (
            r["customer.total_assets"] >= 50000
            and r["customer.status"] == "active"
            and r["customer.level"] in {3, 4, 5}
        )

    ours = compile_predicate(BENCH).code
    shape = [(i.opname, i.argval) for i in dis.get_instructions(ours)]
    assert shape == [(i.opname, i.argval) for i in dis.get_instructions(hand.__code__)]


def test_paths_are_constants_and_the_function_has_no_builtins() -> None:
    predicate = compile_predicate(And(args=[cmp(SCORE, ">", lit(3)), cmp(MU, "<", lit(2.5))]))
    assert "customer.credit_score" in predicate.code.co_consts
    assert all("." not in name for name in predicate.code.co_names + predicate.code.co_varnames)
    assert predicate.bind(NOW, TODAY).__globals__["__builtins__"] == {}


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [(">=", 50_000, True), (">", 50_000, False), ("==", 50_000, True), ("!=", 50_000, False)],
)
def test_number_compare_with_int_decimal_and_float(op, value, expected) -> None:
    for assets in (50_000, 50_000.0, Decimal("50000.00")):
        assert run(cmp(ASSETS, op, lit(value)), {"customer.total_assets": assets}) is expected


def test_fraction_literals_compare_in_binary64_like_sql() -> None:
    # Decimal("0.1") != 0.1 in Python, but SQL compares the float8 values: so do we.
    assert run(cmp(ASSETS, "==", lit(0.1)), {"customer.total_assets": Decimal("0.10")})
    assert run(cmp(ASSETS, ">=", lit(0.1)), {"customer.total_assets": 0.1})


def test_null_atoms_are_false_and_not_is_two_valued() -> None:
    atom = cmp(SCORE, ">=", lit(5))
    assert run(atom, {"customer.credit_score": None}) is False
    assert run(Not(arg=atom), {"customer.credit_score": None}) is True
    assert run(Or(args=[atom, Not(arg=atom)]), {"customer.credit_score": None}) is True
    assert run(cmp(MU, "<", lit(1)), {}) is False  # custom key absent from the JSON


def test_arithmetic_mixes_decimal_float_and_int() -> None:
    grown = cmp(
        Arith(op="*", left=ASSETS, right=lit(1.5)), ">", Arith(op="+", left=MU, right=lit(2))
    )
    record = {"customer.total_assets": Decimal("100.10"), "customer.land_contract_mu": 12.5}
    assert run(grown, record) is True
    assert run(cmp(Neg(arg=ASSETS), "<", lit(-100)), record) is True
    assert run(cmp(Neg(arg=lit(2)), "==", lit(-2)), record) is True


def test_division_by_zero_makes_the_atom_false() -> None:
    ratio = cmp(Arith(op="/", left=ASSETS, right=MU), ">", lit(0))
    assert run(ratio, {"customer.total_assets": 10, "customer.land_contract_mu": 0}) is False
    assert run(Not(arg=ratio), {"customer.total_assets": 10, "customer.land_contract_mu": 0})
    assert run(ratio, {"customer.total_assets": 10, "customer.land_contract_mu": 4}) is True
    nested = cmp(
        Arith(op="/", left=lit(1), right=Arith(op="/", left=ASSETS, right=MU)), "<", lit(1)
    )
    assert run(nested, {"customer.total_assets": 0, "customer.land_contract_mu": 2}) is False


def test_in_and_not_in_with_nulls_and_fractions() -> None:
    levels = In(item=SCORE, values=[lit(3), lit(4.5)])
    assert run(levels, {"customer.credit_score": Decimal("4.50")}) is True
    assert run(levels, {"customer.credit_score": 4}) is False
    negated = levels.model_copy(update={"negated": True})
    assert run(negated, {"customer.credit_score": 4}) is True
    assert run(negated, {"customer.credit_score": None}) is False
    assert run(In(item=f("customer.status", S), values=[], negated=True), {"customer.status": "x"})


@pytest.mark.parametrize(
    ("today", "birthday", "expected"),
    [
        (dt.date(2023, 2, 28), dt.date(2000, 2, 29), True),
        (dt.date(2023, 2, 28), dt.date(1990, 2, 28), True),
        (dt.date(2024, 2, 28), dt.date(2000, 2, 29), False),
        (dt.date(2024, 2, 29), dt.date(2000, 2, 29), True),
        (dt.date(2023, 3, 1), dt.date(2000, 2, 29), False),
        (dt.date(2023, 3, 1), dt.date(2001, 3, 1), True),
        (dt.date(2023, 3, 1), None, False),
    ],
)
def test_anniversary_is_today_with_the_29_february_rule(today, birthday, expected) -> None:
    expr = IsToday(field=f("customer.birthday", A, nullable=True))
    assert run(expr, {"customer.birthday": birthday}, today=today) is expected


def test_date_is_today_and_custom_iso_dates() -> None:
    assert run(IsToday(field=f("customer.contract_end_on", D)), {"customer.contract_end_on": TODAY})
    custom = IsToday(field=f("customer.kyc_on", D, custom=True))
    assert run(custom, {"customer.kyc_on": "2023-02-28"}) is True
    assert run(custom, {"customer.kyc_on": "2023-02-27"}) is False


def test_ago_thresholds_for_datetime_and_date() -> None:
    last = f("customer.last_transaction_at", T, nullable=True)
    at = {"customer.last_transaction_at": NOW - dt.timedelta(days=90)}
    assert run(cmp(last, "<", Ago(type=T, seconds=90 * 86400)), at) is False
    assert run(cmp(last, "<=", Ago(type=T, seconds=90 * 86400)), at) is True
    seen = f("customer.seen_at", T, custom=True)
    iso = {"customer.seen_at": (NOW - dt.timedelta(hours=2)).isoformat()}
    assert run(cmp(seen, "<", Ago(type=T, seconds=3600)), iso) is True
    # A date `ago` counts whole days: 1 day 1 hour ago is yesterday.
    end = f("customer.contract_end_on", D)
    yesterday = {"customer.contract_end_on": TODAY - dt.timedelta(days=1)}
    assert run(cmp(end, "==", Ago(type=D, seconds=86400 + 3600)), yesterday) is True


def test_thresholds_are_fixed_at_bind_time() -> None:
    predicate = compile_predicate(cmp(f("event.occurred_at", T), ">=", Ago(type=T, seconds=60)))
    record = {"event.occurred_at": NOW}
    assert predicate.bind(NOW, TODAY)(record) is True
    assert predicate.bind(NOW + dt.timedelta(minutes=2), TODAY)(record) is False
    with pytest.raises(ValueError):
        predicate.bind(NOW.replace(tzinfo=None), TODAY)


def test_holds_consent_and_custom_booleans() -> None:
    record = {"customer.products": ["mortgage"], "consent.sms": True, "consent.email": False}
    assert run(Holds(product="mortgage"), record) is True
    assert run(Holds(product="fund"), {"customer.products": frozenset()}) is False
    assert run(BoolField(field=f("consent.sms", B)), record) is True
    assert run(f("consent.email", B), record) is False
    assert run(cmp(f("consent.email", B), "==", lit(False, B)), record) is True
    vip = BoolField(field=f("customer.vip", B, custom=True))
    assert [run(vip, {"customer.vip": v}) for v in (True, False, None)] == [True, False, False]
    assert run(vip, {}) is False
    assert run(lit(True, B), {}) is True


def test_strings_order_by_code_point() -> None:
    status = f("customer.status", S)
    assert run(cmp(status, "<", lit("a", S)), {"customer.status": "Z"}) is True
    assert run(cmp(status, ">", lit("z", S)), {"customer.status": "é"}) is True


def test_compile_value_returns_none_on_null_or_zero_divisor() -> None:
    value = compile_value(Arith(op="/", left=ASSETS, right=MU)).bind(NOW, TODAY)
    assert value({"customer.total_assets": Decimal(10), "customer.land_contract_mu": 4}) == 2.5
    assert value({"customer.total_assets": 10, "customer.land_contract_mu": 0}) is None
    assert value({"customer.total_assets": 10}) is None
    assert compile_value(ASSETS).bind(NOW, TODAY)({"customer.total_assets": 7}) == 7


def test_not_a_condition_is_rejected() -> None:
    with pytest.raises(ValueError):
        compile_predicate(ASSETS)
    with pytest.raises(ValueError):
        compile_predicate(IsToday(field=f("customer.last_transaction_at", T)))
