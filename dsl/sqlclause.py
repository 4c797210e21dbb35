"""The SQL backend of the expression IR: a SQLAlchemy Core clause selecting matching customers.

Audiences are selected in the database, so this must mean exactly what `dsl.pyeval` means (the
property tests in tests/dsl hold the two equal on SQLite and PostgreSQL). Every value is a bound
parameter, identifiers resolve only through `SqlSchema`, and each atom carries its guards
(`x IS NOT NULL`, `divisor <> 0`) so the result is two-valued and `NOT` agrees with Python.
Numbers follow the Python rules: integer literals compare exactly, arithmetic and fractional
literals run in FLOAT (binary64); string ordering is by code point (`COLLATE "C"` on PostgreSQL).
Custom fields read the JSON `attributes` column; their dates are ISO text and compare as text.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

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
from dsl.pyeval import anniversary_days, is_exact_int, literal_value, threshold, value_type
from dsl.types import Type

_OPS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
# consent.<name> -> (channel, purpose) of the consent row that grants it.
_CONSENT = {
    **{f"consent.{ch}": (ch, "marketing") for ch in ("sms", "email", "push", "phone")},
    "consent.marketing": ("all", "marketing"),
    "consent.personalisation": ("all", "personalisation"),
}


@dataclass(frozen=True)
class SqlSchema:
    """The columns and tables a clause may name; the storage layer builds it from its tables."""

    customer_id: ColumnElement  # customer.id column (string primary key)
    columns: Mapping[str, ColumnElement]  # "customer.total_assets" -> customer.c.total_assets
    attributes: ColumnElement  # JSON column holding ruleset-declared custom fields
    holding: Table  # columns customer_id, product
    consent: Table  # customer_id, channel, purpose, granted, expires_at (nullable, UTC)


class CodePointOrder(ColumnElement):
    """A string expression ordered by code point, as Python orders str, on every database."""

    inherit_cache = True
    _traverse_internals: ClassVar = [("expr", InternalTraversal.dp_clauseelement)]

    def __init__(self, expr: ColumnElement) -> None:
        self.expr = expr
        self.type = expr.type


@compiles(CodePointOrder)
def _compile_code_point(element: CodePointOrder, compiler, **kw) -> str:
    return compiler.process(element.expr, **kw)


@compiles(CodePointOrder, "postgresql")
def _compile_code_point_pg(element: CodePointOrder, compiler, **kw) -> str:
    # PostgreSQL's default collation is locale-aware; "C" compares UTF-8 bytes = code points.
    return compiler.process(sa.collate(element.expr, "C"), **kw)


@compiles(CodePointOrder, "sqlite")
def _compile_code_point_sqlite(element: CodePointOrder, compiler, **kw) -> str:
    return compiler.process(sa.collate(element.expr, "BINARY"), **kw)


@dataclass
class _Val:
    """A translated value: a clause, or a Python literal not yet bound (`clause` is None), with
    its number kind (int | lit | raw | float | other) and whether it is ISO text from JSON."""

    clause: ColumnElement | None
    kind: str = "other"
    py: Any = None
    text: bool = False


def to_clause(expr, schema: SqlSchema, *, now: dt.datetime, today: dt.date) -> ColumnElement:
    """The WHERE clause selecting the customers `expr` accepts at `now` / `today`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return _Translator(schema, now.astimezone(dt.UTC), today).cond(expr)


class _Translator:
    def __init__(self, schema: SqlSchema, now: dt.datetime, today: dt.date) -> None:
        self.schema, self.now, self.today = schema, now, today
        self._guards: dict[str, ColumnElement] = {}
        self._div_guards: list[ColumnElement] = []

    def cond(self, node) -> ColumnElement:
        if isinstance(node, And):
            return sa.and_(*(self.cond(arg) for arg in node.args))
        if isinstance(node, Or):
            return sa.or_(*(self.cond(arg) for arg in node.args))
        if isinstance(node, Not):
            return sa.not_(self.cond(node.arg))
        if isinstance(node, Lit) and node.type is Type.BOOL:
            return sa.true() if node.value else sa.false()
        if isinstance(node, FieldRef) and node.type is Type.BOOL:
            node = BoolField(field=node)
        if isinstance(node, BoolField):
            return self._truth(self._field(node.field, guard=False))
        if isinstance(node, Holds):
            holding = self.schema.holding
            return sa.exists().where(
                holding.c.customer_id == self.schema.customer_id,
                holding.c.product == sa.literal(node.product, holding.c.product.type),
            )
        atom = {Compare: self._compare, In: self._in, IsToday: self._is_today}.get(type(node))
        if atom is None:
            raise ValueError(f"not a condition: {node.kind}")
        self._guards, self._div_guards = {}, []
        core = atom(node)
        return sa.and_(*self._guards.values(), *self._div_guards, core)

    def _truth(self, value: _Val) -> ColumnElement:
        # Consent is an EXISTS (already boolean); a column is true only when it IS TRUE.
        return value.clause if value.kind == "exists" else value.clause.is_(True)

    def _compare(self, node: Compare) -> ColumnElement:
        left, right = self.value(node.left), self.value(node.right)
        type_ = value_type(node.left)
        if type_ is Type.BOOL:
            return self._compare_bools(node.op, left, right)
        if type_ is Type.NUMBER and "int" not in (left.kind, right.kind):
            left, right = self._float(left), self._float(right)
        if left.text or right.text:
            left, right = self._as_text(left, type_), self._as_text(right, type_)
        lhs, rhs = self._bind(left, right), self._bind(right, left)
        if type_ is Type.STRING and node.op not in ("==", "!="):
            lhs = CodePointOrder(lhs)
        return _OPS[node.op](lhs, rhs)

    def _compare_bools(self, op: str, left: _Val, right: _Val) -> ColumnElement:
        if left.clause is None and right.clause is None:
            return sa.true() if (left.py == right.py) == (op == "==") else sa.false()
        if left.clause is None:
            left, right = right, left
        if right.clause is None:
            truth = self._truth(left)
            return truth if (op == "==") == bool(right.py) else sa.not_(truth)
        a, b = self._truth(left), self._truth(right)
        same = sa.or_(sa.and_(a, b), sa.and_(sa.not_(a), sa.not_(b)))
        return same if op == "==" else sa.not_(same)

    def _in(self, node: In) -> ColumnElement:
        item = self.value(node.item)
        values = [literal_value(lit) for lit in node.values]
        if value_type(node.item) is Type.NUMBER:
            if all(is_exact_int(v) for v in values):
                values = [int(v) for v in values]
            else:
                item, values = self._float(item), [float(v) for v in values]
        if item.text:
            values = [_iso(v) for v in values]
        clause = self._bind(item, _Val(None, py=values[0] if values else None))
        return clause.not_in(values) if node.negated else clause.in_(values)

    def _is_today(self, node: IsToday) -> ColumnElement:
        value = self._field(node.field)
        if node.field.type is Type.DATE:
            if value.text:
                return value.clause == sa.literal(self.today.isoformat(), sa.String)
            return value.clause == sa.literal(self.today, value.clause.type)
        if node.field.type is not Type.ANNIVERSARY:
            raise ValueError(f"`is today` needs a date, got {node.field.type}")
        days = sorted(anniversary_days(self.today))
        if value.text:  # "YYYY-MM-DD": month at 6, day at 9, compared as two-digit text
            month = sa.func.substr(value.clause, 6, 2) == sa.literal(f"{self.today.month:02d}")
            return sa.and_(
                month, sa.func.substr(value.clause, 9, 2).in_([f"{d:02d}" for d in days])
            )
        month = sa.extract("month", value.clause) == sa.literal(self.today.month, sa.Integer)
        return sa.and_(month, sa.extract("day", value.clause).in_(days))

    # --- values -----------------------------------------------------------------------------

    def value(self, node) -> _Val:
        if isinstance(node, Lit):
            value = literal_value(node)
            if node.type is Type.NUMBER:
                exact = is_exact_int(value)
                return _Val(None, "int" if exact else "lit", int(value) if exact else float(value))
            return _Val(None, py=value)
        if isinstance(node, FieldRef):
            return self._field(node)
        if isinstance(node, Ago):
            return _Val(None, py=threshold(node, self.now, self.today))
        if isinstance(node, Neg):
            if isinstance(node.arg, Lit):
                return self.value(Lit(type=node.arg.type, value=-node.arg.value))
            return _Val(-self._float(self.value(node.arg)).clause, "float")
        if isinstance(node, Arith):
            left = self._float(self.value(node.left)).clause
            right = self._float(self.value(node.right)).clause
            if node.op == "/":
                zero = sa.literal(0.0, sa.Float)
                self._div_guards.append(right != zero)
                # NULLIF as well: PostgreSQL may evaluate the division before the guard.
                right = sa.func.nullif(right, zero, type_=sa.Float)
            return _Val(_ARITH[node.op](left, right), "float")
        raise ValueError(f"not a value: {node.kind}")

    def _field(self, field: FieldRef, *, guard: bool = True) -> _Val:
        path = field.path
        if path in _CONSENT:
            return _Val(self._consent(*_CONSENT[path]), "exists")
        if not path.startswith("customer."):
            raise ValueError(f"{path} is not available in SQL (only customer and consent fields)")
        if field.custom:
            clause, text = self._custom(field)
        elif path in self.schema.columns:
            clause, text = self.schema.columns[path], False
        elif path == "customer.id":
            clause, text = self.schema.customer_id, False
        else:
            raise ValueError(f"no column for {path}")
        if guard and (field.nullable or field.custom):
            self._guards.setdefault(path, clause.is_not(None))
        return _Val(clause, "raw" if field.type is Type.NUMBER else "other", text=text)

    def _custom(self, field: FieldRef) -> tuple[ColumnElement, bool]:
        item = self.schema.attributes[field.path.removeprefix("customer.")]
        if field.type is Type.NUMBER:
            return item.as_float(), False
        if field.type is Type.BOOL:
            return item.as_boolean(), False
        if field.type in (Type.STRING, Type.DATE, Type.ANNIVERSARY, Type.DATETIME):
            return item.as_string(), field.type is not Type.STRING
        raise ValueError(f"custom field {field.path} has unsupported type {field.type}")

    def _consent(self, channel: str, purpose: str) -> ColumnElement:
        consent = self.schema.consent
        return sa.exists().where(
            consent.c.customer_id == self.schema.customer_id,
            consent.c.channel == sa.literal(channel, consent.c.channel.type),
            consent.c.purpose == sa.literal(purpose, consent.c.purpose.type),
            consent.c.granted.is_(True),
            sa.or_(consent.c.expires_at.is_(None), consent.c.expires_at > self.now),
        )

    def _float(self, value: _Val) -> _Val:
        if value.clause is None:
            return _Val(sa.literal(float(value.py), sa.Float), "float")
        if value.kind == "raw":
            return _Val(sa.cast(value.clause, sa.Float), "float")
        return value

    def _as_text(self, value: _Val, type_: Type) -> _Val:
        """Put the side facing ISO text from JSON into ISO text too."""
        if value.text:
            return value
        if value.clause is None:
            return _Val(None, py=_iso(value.py), text=True)
        if type_ is Type.DATETIME:
            raise ValueError("comparing a custom datetime with a datetime column is unsupported")
        return _Val(sa.cast(value.clause, sa.String), text=True)  # dates cast to ISO text

    def _bind(self, value: _Val, other: _Val) -> ColumnElement:
        """A clause for `value`; a literal binds with the type of the side it is compared to."""
        if value.clause is not None:
            return value.clause
        if other.clause is not None and not other.text:
            return sa.literal(value.py, other.clause.type)
        if isinstance(value.py, dt.datetime):
            return sa.literal(value.py, sa.DateTime(timezone=True))
        if isinstance(value.py, int) and not isinstance(value.py, bool):
            return sa.literal(value.py, sa.BigInteger)
        return sa.literal(value.py)


def _iso(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return value.isoformat() if isinstance(value, dt.date) else value
