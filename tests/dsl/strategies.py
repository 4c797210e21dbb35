"""Test data for the expression backends: a fixed field catalogue, random customers and
hypothesis strategies for well-typed IR trees over them.

The value pools are small and full of edges on purpose (NULLs, absent JSON keys, 29 Feb, zero
divisors, Decimal vs float, Unicode and case in strings, timestamps exactly at a threshold) so
that random expressions often land on a boundary where the two backends could disagree.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

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
from dsl.pyeval import compile_predicate
from dsl.types import Type

N, S, B, D, A, T = Type.NUMBER, Type.STRING, Type.BOOL, Type.DATE, Type.ANNIVERSARY, Type.DATETIME


def ref(path: str, type_: Type, nullable: bool = False, custom: bool = False) -> FieldRef:
    """A FieldRef as the checker would produce it (custom fields are always nullable)."""
    return FieldRef(path=path, type=type_, nullable=nullable or custom, custom=custom)


NUMBERS = [
    ref("customer.total_assets", N),  # Numeric -> Decimal
    ref("customer.level", N),  # Integer
    ref("customer.balance_growth_90d", N),  # Float
    ref("customer.credit_score", N, nullable=True),  # Numeric, nullable
    ref("customer.land_contract_mu", N, custom=True),  # JSON int/float
]
STRINGS = [
    ref("customer.status", S),
    ref("customer.tier", S),
    ref("customer.segment", S, nullable=True),
    ref("customer.nickname", S, custom=True),
]
DATES = [
    ref("customer.contract_end_on", D, nullable=True),
    ref("customer.birthday", A, nullable=True),
    ref("customer.kyc_on", D, custom=True),  # ISO text in JSON
]
DATETIMES = [ref("customer.last_transaction_at", T, nullable=True)]
CUSTOM_DATETIMES = [ref("customer.seen_at", T, custom=True)]
BOOLS = [ref(f"consent.{n}", B) for n in ("sms", "email", "marketing", "personalisation")] + [
    ref("customer.vip", B, custom=True)
]
CONSENTS = {"sms": ("sms", "marketing"), "email": ("email", "marketing")}
CONSENTS |= {"marketing": ("all", "marketing"), "personalisation": ("all", "personalisation")}
PRODUCTS = ["mortgage", "credit_card", "wealth", "fund"]

INTS = [-1, 0, 1, 2, 3, 5, 7, 100, 50_000, 1_000_000]
FRACTIONS = [0.1, 0.2, 0.3, 0.5, 2.5, 12.5, -0.5, 49_999.99]
TEXTS = ["active", "Active", "dormant", "closed", "mass", "private", "", "a", "Z", "é", "中文"]
TODAYS = [dt.date(2023, 2, 28), dt.date(2024, 2, 28), dt.date(2024, 2, 29), dt.date(2024, 3, 1)]
DAY = 86_400
AGO_SECONDS = [0, 1, 3600, DAY, 7 * DAY, 30 * DAY, 90 * DAY, 365 * DAY, DAY + 3661]
_DATES = [dt.date(2000, 2, 29), dt.date(1990, 2, 28), dt.date(1985, 3, 1), *TODAYS]
_DATES += [d - dt.timedelta(days=k) for d in TODAYS for k in (1, 7, 30, 90, 365)]


def now_for(today: dt.date) -> dt.datetime:
    """The `now` paired with a `today` in tests: 10:00 UTC that day."""
    return dt.datetime.combine(today, dt.time(10, tzinfo=dt.UTC))


@dataclass
class Customer:
    """One customer as both backends see it: columns, JSON attributes, holdings, consents."""

    id: str
    columns: dict[str, Any]  # path -> value for real columns
    attributes: dict[str, Any] = field(default_factory=dict)  # custom name -> JSON value
    products: set[str] = field(default_factory=set)
    consents: list[tuple[str, str, bool, dt.datetime | None]] = field(default_factory=list)

    def record(self, now: dt.datetime) -> dict[str, Any]:
        """The flat record the Python evaluator reads, with consent decided at `now`."""
        record = dict(self.columns)
        record.update({f"customer.{k}": v for k, v in self.attributes.items()})
        record["customer.products"] = frozenset(self.products)
        for name, (channel, purpose) in CONSENTS.items():
            record[f"consent.{name}"] = any(
                (c, p) == (channel, purpose) and granted and (exp is None or exp > now)
                for c, p, granted, exp in self.consents
            )
        record.update({"consent.push": False, "consent.phone": False})
        return record


def accepted_ids(expr, customers: list[Customer], *, now: dt.datetime, today: dt.date) -> set:
    """Ids of the customers the Python evaluator accepts."""
    predicate = compile_predicate(expr).bind(now, today)
    return {c.id for c in customers if predicate(c.record(now))}


def random_customer(rng: random.Random, id_: str) -> Customer:
    """A customer drawn from the edge-heavy pools."""

    def maybe(values: list) -> Any:
        return None if rng.random() < 0.25 else rng.choice(values)

    def moment() -> dt.datetime:
        offset = rng.choice([0, 0, 1, -1, 3600, -3600])
        return now_for(rng.choice(_DATES)) + dt.timedelta(seconds=offset)

    decimals = [Decimal(v) for v in ("0", "0.10", "1", "2.50", "49999.99", "50000", "123456.78")]
    columns = {
        "customer.total_assets": rng.choice(decimals),
        "customer.level": rng.randint(1, 5),
        "customer.balance_growth_90d": rng.choice([-0.5, 0.0, 0.1, 0.2, 0.25, 0.3, 1.5, 2.0]),
        "customer.credit_score": maybe([Decimal(v) for v in ("0", "1", "3", "7.50", "650.25")]),
        "customer.status": rng.choice(TEXTS[:4]),
        "customer.tier": rng.choice(["mass", "private", "é", "Z"]),
        "customer.segment": maybe(TEXTS),
        "customer.contract_end_on": maybe(_DATES),
        "customer.birthday": maybe(_DATES),
        "customer.last_transaction_at": None if rng.random() < 0.2 else moment(),
    }
    attributes: dict[str, Any] = {}
    for name, pool in (
        ("land_contract_mu", [0, 1, 2.5, 12.5, 0.1, 100, -3]),
        ("nickname", TEXTS),
        ("vip", [True, False]),
        ("kyc_on", [d.isoformat() for d in _DATES]),
        ("seen_at", [moment().isoformat() for _ in range(3)]),
    ):
        if rng.random() < 0.85:  # otherwise the key is absent from the JSON
            attributes[name] = maybe(pool)
    consents = []
    for channel, purpose in [*CONSENTS.values(), ("sms", "service")]:
        for _ in range(rng.choice([0, 1, 1, 2])):
            expires = rng.choice([None, None, moment(), now_for(rng.choice(TODAYS))])
            consents.append((channel, purpose, rng.random() < 0.8, expires))
    products = {p for p in PRODUCTS if rng.random() < 0.4}
    return Customer(id_, columns, attributes, products, consents)


# --- IR strategies ----------------------------------------------------------------------------


def _lit(type_: Type, values: list) -> st.SearchStrategy[Lit]:
    return st.sampled_from(values).map(lambda v: Lit(type=type_, value=v))


_OPS = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
_NUM_LITS = _lit(N, INTS + FRACTIONS)
_DATE_LITS = _lit(D, [d.isoformat() for d in _DATES])
_DATETIME_LITS = st.sampled_from(_DATES).map(lambda d: Lit(type=T, value=now_for(d).isoformat()))


def numbers(depth: int = 2) -> st.SearchStrategy:
    """Number-valued IR: fields, literals, arithmetic (incl. division) and negation."""
    leaves = st.one_of(st.sampled_from(NUMBERS), _NUM_LITS)
    if depth == 0:
        return leaves
    inner = numbers(depth - 1)
    arith = st.builds(Arith, op=st.sampled_from("+-*/"), left=inner, right=inner)
    return st.one_of(leaves, leaves, arith, st.builds(Neg, arg=inner))


def _dates() -> st.SearchStrategy:
    ago = st.sampled_from(AGO_SECONDS).map(lambda s: Ago(type=D, seconds=s))
    return st.one_of(st.sampled_from(DATES), _DATE_LITS, ago)


def _datetime_compare() -> st.SearchStrategy[Compare]:
    ago = st.sampled_from(AGO_SECONDS).map(lambda s: Ago(type=T, seconds=s))
    fields = st.sampled_from(DATETIMES + CUSTOM_DATETIMES)
    return st.builds(Compare, op=_OPS, left=fields, right=st.one_of(ago, _DATETIME_LITS))


def atoms() -> st.SearchStrategy:
    """Every kind of atom the checker can produce over the catalogue."""
    strings = st.one_of(st.sampled_from(STRINGS), _lit(S, TEXTS))
    bools = st.one_of(st.sampled_from(BOOLS), _lit(B, [True, False]))
    eq = st.sampled_from(["==", "!="])
    return st.one_of(
        st.builds(Compare, op=_OPS, left=st.sampled_from(NUMBERS) | numbers(), right=numbers(1)),
        st.builds(Compare, op=_OPS, left=strings, right=strings),
        st.builds(Compare, op=_OPS, left=_dates(), right=_dates()),
        _datetime_compare(),
        st.builds(Compare, op=eq, left=st.sampled_from(BOOLS), right=bools),
        st.builds(
            In, item=numbers(1), values=st.lists(_NUM_LITS, max_size=4), negated=st.booleans()
        ),
        st.builds(
            In, item=strings, values=st.lists(_lit(S, TEXTS), max_size=4), negated=st.booleans()
        ),
        st.builds(In, item=st.sampled_from(DATES), values=st.lists(_DATE_LITS, max_size=3)),
        st.builds(IsToday, field=st.sampled_from(DATES)),
        st.builds(Holds, product=st.sampled_from(PRODUCTS)),
        st.builds(BoolField, field=st.sampled_from(BOOLS)),
    )


def predicates() -> st.SearchStrategy:
    """Random well-typed boolean IR trees."""
    return st.recursive(
        atoms(),
        lambda inner: st.one_of(
            st.builds(And, args=st.lists(inner, min_size=2, max_size=3)),
            st.builds(Or, args=st.lists(inner, min_size=2, max_size=3)),
            st.builds(Not, arg=inner),
        ),
        max_leaves=6,
    )
