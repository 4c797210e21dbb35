"""The Python backend of the expression IR: compiles a typed expression into a code object.

The code is built from `ast` nodes (never from formatted text): field paths only ever appear as
string constants subscripting the record, values as constants or as names in the function's own
globals, which hold no builtins. `compile_predicate` runs once per plan; `Predicate.bind(now,
today)` runs once per batch and fixes every time threshold, so the per-record function does no
datetime arithmetic and reads like a hand-written lambda. Semantics shared with `dsl.sqlclause`:
an atom over a NULL nullable field is false; an atom dividing by zero is false; integer literals
compare exactly with any number, while arithmetic and fractional literals work in binary64
floating point, the one number type SQLite and PostgreSQL (float8) and Python all compute
identically; custom (JSON) dates and datetimes may arrive as ISO strings.
"""

from __future__ import annotations

import ast
import calendar
import datetime as dt
import itertools
import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

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
from dsl.types import Type

Record = Mapping[str, Any]
_CMP = {"==": ast.Eq, "!=": ast.NotEq, "<": ast.Lt, "<=": ast.LtE, ">": ast.Gt, ">=": ast.GtE}
_ARITH = {"+": ast.Add, "-": ast.Sub, "*": ast.Mult, "/": ast.Div}
# Integers up to 2**53 are exact in binary64, so comparing them exactly is safe on every backend.
_EXACT_INT = 2**53


@dataclass(frozen=True)
class Predicate:
    """A compiled expression; `bind` turns it into the per-record function for one batch."""

    code: types.CodeType
    static: Mapping[str, Any]
    dynamic: tuple[tuple[str, Callable[[dt.datetime, dt.date], Any]], ...]
    source: str  # `ast.unparse` of the generated lambda, for debugging and tests only

    def bind(self, now: dt.datetime, today: dt.date) -> Callable[[Record], Any]:
        """The per-record function with thresholds fixed for `now` (aware) and `today`."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        now = now.astimezone(dt.UTC)
        env: dict[str, Any] = {"__builtins__": {}, **self.static}
        for name, make in self.dynamic:
            env[name] = make(now, today)
        return types.FunctionType(self.code, env, "predicate")


def compile_predicate(expr) -> Predicate:
    """Compile a boolean IR expression into a `Predicate`."""
    builder = _Builder()
    return builder.finish(builder.cond(expr))


def compile_value(expr) -> Predicate:
    """Compile any IR expression; the bound function returns its value, or None when the value
    reads a NULL field or divides by zero."""
    builder = _Builder()
    if value_type(expr) is Type.BOOL:
        return builder.finish(builder.cond(expr))
    guards, core = builder.atom(lambda: builder.value(expr)[0])
    body = ast.IfExp(test=_all(guards), body=core, orelse=ast.Constant(None)) if guards else core
    return builder.finish(body)


def _all(exprs: list[ast.expr]) -> ast.expr:
    return exprs[0] if len(exprs) == 1 else ast.BoolOp(op=ast.And(), values=exprs)


def _cmp(left: ast.expr, op: ast.cmpop, right: ast.expr) -> ast.expr:
    return ast.Compare(left=left, ops=[op], comparators=[right])


def _call(name: str, arg: ast.expr) -> ast.expr:
    return ast.Call(func=ast.Name(name, ast.Load()), args=[arg], keywords=[])


class _Builder:
    def __init__(self) -> None:
        self.static: dict[str, Any] = {"_float": float, "_as_date": as_date, "_as_dt": as_datetime}
        self.dynamic: dict[str, Callable[[dt.datetime, dt.date], Any]] = {}
        self._ids = itertools.count()
        self._reads: dict[str, str] = {}
        self._guards: list[ast.expr] = []
        self._div_guards: list[ast.expr] = []

    def finish(self, body: ast.expr) -> Predicate:
        args = ast.arguments(
            posonlyargs=[], args=[ast.arg("r")], kwonlyargs=[], kw_defaults=[], defaults=[]
        )
        tree = ast.Expression(body=ast.Lambda(args=args, body=body))
        ast.fix_missing_locations(tree)
        module = compile(tree, "<rulebank predicate>", "eval")
        code = next(c for c in module.co_consts if isinstance(c, types.CodeType))
        return Predicate(code, self.static, tuple(self.dynamic.items()), ast.unparse(tree.body))

    def _name(self, prefix: str) -> str:
        return f"_{prefix}{next(self._ids)}"

    def _global(self, value: Any) -> ast.expr:
        name = self._name("c")
        self.static[name] = value
        return ast.Name(name, ast.Load())

    def _bind_time(self, key: str, make: Callable[[dt.datetime, dt.date], Any]) -> ast.expr:
        self.dynamic.setdefault(key, make)
        return ast.Name(key, ast.Load())

    # --- conditions -------------------------------------------------------------------------

    def cond(self, node) -> ast.expr:
        """A two-valued condition: boolean structure over guarded atoms."""
        if isinstance(node, And | Or):
            op = ast.And() if isinstance(node, And) else ast.Or()
            return ast.BoolOp(op=op, values=[self.cond(arg) for arg in node.args])
        if isinstance(node, Not):
            return ast.UnaryOp(op=ast.Not(), operand=self.cond(node.arg))
        if isinstance(node, Lit) and node.type is Type.BOOL:
            return ast.Constant(bool(node.value))
        if isinstance(node, FieldRef) and node.type is Type.BOOL:
            node = BoolField(field=node)
        if isinstance(node, BoolField):
            # `== True` (not truthiness) so None and stray non-bools never count as consent.
            return _cmp(_raw_read(node.field), ast.Eq(), ast.Constant(True))
        if isinstance(node, Holds):
            products = _raw_read(FieldRef(path="customer.products", type=Type.PRODUCTS))
            return _cmp(ast.Constant(node.product), ast.In(), products)
        atom = {Compare: self._compare, In: self._in, IsToday: self._is_today}.get(type(node))
        if atom is None:
            raise ValueError(f"not a condition: {node.kind}")
        guards, core = self.atom(lambda: atom(node))
        return _all([*guards, core])

    def atom(self, make: Callable[[], ast.expr]) -> tuple[list[ast.expr], ast.expr]:
        """Compile one atom; returns its NULL and divide-by-zero guards and its core."""
        self._reads, self._guards, self._div_guards = {}, [], []
        core = make()
        # Division guards read variables the NULL guards assign, so they come after them.
        return [*self._guards, *self._div_guards], core

    def _compare(self, node: Compare) -> ast.expr:
        left, right = self.value(node.left), self.value(node.right)
        if value_type(node.left) is Type.NUMBER and "int" not in (left[1], right[1]):
            left, right = self._float(left), self._float(right)
        return _cmp(left[0], _CMP[node.op](), right[0])

    def _in(self, node: In) -> ast.expr:
        item = self.value(node.item)
        values = [literal_value(lit) for lit in node.values]
        if value_type(node.item) is Type.NUMBER:
            if all(is_exact_int(v) for v in values):
                values = [int(v) for v in values]
            else:
                item, values = self._float(item), [float(v) for v in values]
        members = frozenset(values)
        plain = all(isinstance(v, int | float | str) for v in members)
        const = ast.Constant(members) if plain else self._global(members)
        return _cmp(item[0], ast.NotIn() if node.negated else ast.In(), const)

    def _is_today(self, node: IsToday) -> ast.expr:
        value = self._read(node.field)
        if node.field.custom:
            value = _call("_as_date", value)
        if node.field.type is Type.DATE:
            return _cmp(value, ast.Eq(), self._bind_time("_today", lambda now, today: today))
        if node.field.type is not Type.ANNIVERSARY:
            raise ValueError(f"`is today` needs a date, got {node.field.type}")
        month = self._bind_time("_month", lambda now, today: today.month)
        days = self._bind_time("_days", lambda now, today: anniversary_days(today))
        same_month = _cmp(ast.Attribute(value, "month", ast.Load()), ast.Eq(), month)
        same_day = _cmp(ast.Attribute(value, "day", ast.Load()), ast.In(), days)
        return ast.BoolOp(op=ast.And(), values=[same_month, same_day])

    # --- values -----------------------------------------------------------------------------

    def value(self, node) -> tuple[ast.expr, str]:
        """An expression and its number kind: int | lit | raw | float | other."""
        if isinstance(node, Lit):
            value = literal_value(node)
            if node.type is Type.NUMBER:
                return (
                    (ast.Constant(int(value)), "int")
                    if is_exact_int(value)
                    else (ast.Constant(float(value)), "lit")
                )
            if isinstance(value, str | bool):
                return ast.Constant(value), "other"
            return self._global(value), "other"
        if isinstance(node, FieldRef):
            read = self._read(node)
            if node.custom and node.type in (Type.DATE, Type.ANNIVERSARY):
                read = _call("_as_date", read)
            elif node.custom and node.type is Type.DATETIME:
                read = _call("_as_dt", read)
            return read, "raw" if node.type is Type.NUMBER else "other"
        if isinstance(node, Ago):
            key = f"_ago_{node.type.value}_{node.seconds}"
            return self._bind_time(key, lambda now, today: threshold(node, now, today)), "other"
        if isinstance(node, Neg):
            if isinstance(node.arg, Lit):
                return self.value(Lit(type=node.arg.type, value=-node.arg.value))
            operand = self._float(self.value(node.arg))[0]
            return ast.UnaryOp(op=ast.USub(), operand=operand), "float"
        if isinstance(node, Arith):
            left = self._float(self.value(node.left))[0]
            right = self._float(self.value(node.right))[0]
            if node.op == "/":
                # The divisor is computed once, in the guard, and reused by the core.
                name = self._name("d")
                store = ast.NamedExpr(ast.Name(name, ast.Store()), right)
                self._div_guards.append(_cmp(store, ast.NotEq(), ast.Constant(0)))
                right = ast.Name(name, ast.Load())
            return ast.BinOp(left=left, op=_ARITH[node.op](), right=right), "float"
        raise ValueError(f"not a value: {node.kind}")

    def _float(self, value: tuple[ast.expr, str]) -> tuple[ast.expr, str]:
        expr, kind = value
        if kind == "raw":
            # Decimal (Numeric columns) and float (JSON) must not meet in arithmetic: binary64.
            return _call("_float", expr), "float"
        if kind == "int":
            return ast.Constant(float(expr.value)), "lit"
        return expr, kind

    def _read(self, field: FieldRef) -> ast.expr:
        """Read a field; a nullable one once per atom, behind an `is not None` guard."""
        read = _raw_read(field)
        if not (field.nullable or field.custom):
            return read
        if field.path not in self._reads:
            name = self._reads[field.path] = self._name("v")
            store = ast.NamedExpr(ast.Name(name, ast.Store()), read)
            self._guards.append(_cmp(store, ast.IsNot(), ast.Constant(None)))
        return ast.Name(self._reads[field.path], ast.Load())


def _raw_read(field: FieldRef) -> ast.expr:
    """`r["path"]`, or `r.get("path")` for a custom field (absent from the JSON = None)."""
    # Interned, so records whose keys are interned too hit on identity in every dict lookup.
    path = ast.Constant(sys.intern(field.path))
    record = ast.Name("r", ast.Load())
    if field.custom:
        get = ast.Attribute(record, "get", ast.Load())
        return ast.Call(func=get, args=[path], keywords=[])
    return ast.Subscript(record, path, ast.Load())


def is_exact_int(value: Any) -> bool:
    """Whether a number literal is an integer that binary64 holds exactly."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and float(value).is_integer()
        and abs(value) <= _EXACT_INT
    )


# --- reference semantics, shared with dsl.sqlclause ---------------------------------------------


def value_type(node) -> Type:
    """The static type of an IR node."""
    if isinstance(node, Lit | FieldRef | Ago):
        return node.type
    if isinstance(node, Arith):
        return Type.NUMBER
    if isinstance(node, Neg):
        return value_type(node.arg)
    return Type.BOOL


def literal_value(lit: Lit) -> Any:
    """A literal's Python value: ISO text becomes date, datetime (UTC if naive) or time."""
    if lit.type in (Type.DATE, Type.ANNIVERSARY):
        return dt.date.fromisoformat(str(lit.value))
    if lit.type is Type.DATETIME:
        return as_datetime(str(lit.value))
    if lit.type is Type.TIME:
        return dt.time.fromisoformat(str(lit.value))
    if lit.type in (Type.NUMBER, Type.STRING, Type.BOOL):
        return lit.value
    raise ValueError(f"no runtime value for a {lit.type} literal")


def threshold(ago: Ago, now: dt.datetime, today: dt.date) -> dt.date | dt.datetime:
    """`now - seconds` for a datetime, `today - whole days` for a date."""
    if ago.type is Type.DATETIME:
        return now - dt.timedelta(seconds=ago.seconds)
    return today - dt.timedelta(days=ago.seconds // 86400)


def anniversary_days(today: dt.date) -> frozenset[int]:
    """Days of `today.month` whose anniversary falls today: 28 Feb also takes 29 Feb in
    non-leap years, so nobody born on a leap day is skipped three years in four."""
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        return frozenset({28, 29})
    return frozenset({today.day})


def as_date(value: Any) -> dt.date:
    """A date from a date or an ISO string (custom fields live in JSON as text)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def as_datetime(value: Any) -> dt.datetime:
    """An aware datetime from a datetime or an ISO string; naive means UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
