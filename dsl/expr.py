"""The typed expression IR: what the checker produces from expression syntax and what both
backends consume.

One IR, two backends: `dsl.pyeval` turns it into a Python predicate (events, per-customer
checks), `dsl.sqlclause` into a SQLAlchemy Core clause (audiences). Nodes are pydantic models
with a `kind` discriminator so they serialise into plans as plain JSON.

Null semantics (both backends must agree): a comparison, `in`, `is today` or `holds` whose
operand is a nullable field that holds NULL is *false*, never unknown. Backends guard such atoms
(`x IS NOT NULL AND x >= 5`), which keeps SQL two-valued so `not` means the same in both.
Time is never read from a clock: `now` (an aware UTC datetime) and `today` (a date in the
ruleset's time zone, or in the customer's for a local-time campaign: `dsl.local_time`) are
inputs to evaluation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from dsl.types import Type

CompareOp = Literal["==", "!=", "<", "<=", ">", ">="]
ArithOp = Literal["+", "-", "*", "/"]
# Literal values as they appear in JSON: dates as ISO "YYYY-MM-DD", datetimes as ISO strings.
Scalar = bool | int | float | str


class _Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Lit(_Node):
    kind: Literal["lit"] = "lit"
    type: Type
    value: Scalar


class FieldRef(_Node):
    kind: Literal["field"] = "field"
    path: str  # e.g. "customer.total_assets"; custom fields: "customer.land_contract_mu"
    type: Type
    nullable: bool = False
    custom: bool = False


class Ago(_Node):
    """`now - seconds` (as a datetime) or `today - days` (as a date), decided by `type`."""

    kind: Literal["ago"] = "ago"
    type: Literal[Type.DATETIME, Type.DATE]
    seconds: int


class Compare(_Node):
    kind: Literal["cmp"] = "cmp"
    op: CompareOp
    left: Expr
    right: Expr


class Arith(_Node):
    kind: Literal["arith"] = "arith"
    op: ArithOp
    left: Expr
    right: Expr
    type: Literal[Type.NUMBER] = Type.NUMBER


class Neg(_Node):
    kind: Literal["neg"] = "neg"
    arg: Expr


class And(_Node):
    kind: Literal["and"] = "and"
    args: list[Expr]


class Or(_Node):
    kind: Literal["or"] = "or"
    args: list[Expr]


class Not(_Node):
    kind: Literal["not"] = "not"
    arg: Expr


class In(_Node):
    """`item in [v1, v2]`; values are literals of the item's type."""

    kind: Literal["in"] = "in"
    item: Expr
    values: list[Lit]
    negated: bool = False


class IsToday(_Node):
    """A date equals `today`; an anniversary matches on month and day (29 Feb -> 28 Feb)."""

    kind: Literal["is_today"] = "is_today"
    field: FieldRef


class Holds(_Node):
    """`customer.holds("mortgage")`: the customer holds the product."""

    kind: Literal["holds"] = "holds"
    product: str


class BoolField(_Node):
    """A boolean field used as a condition on its own, e.g. `consent.sms`."""

    kind: Literal["bool_field"] = "bool_field"
    field: FieldRef


Expr = Annotated[
    Lit
    | FieldRef
    | Ago
    | Compare
    | Arith
    | Neg
    | And
    | Or
    | Not
    | In
    | IsToday
    | Holds
    | BoolField,
    Field(discriminator="kind"),
]

for _model in (Compare, Arith, Neg, And, Or, Not, In):
    _model.model_rebuild()


def nodes_of(expr: Expr) -> Iterator[_Node]:
    """Every node of an expression, depth first, the root first."""
    stack: list[_Node] = [expr]
    while stack:
        node = stack.pop()
        yield node
        for name in reversed(type(node).model_fields):
            value = getattr(node, name)
            if isinstance(value, _Node):
                stack.append(value)
            elif isinstance(value, list):
                stack.extend(item for item in reversed(value) if isinstance(item, _Node))


def fields_of(expr: Expr) -> set[str]:
    """Every field path an expression reads (the SQL backend's column needs)."""
    found: set[str] = set()
    for node in nodes_of(expr):
        if isinstance(node, FieldRef):
            found.add(node.path)
        elif isinstance(node, Holds):
            found.add("customer.products")
    return found


def reads_today(expr: Expr) -> bool:
    """Whether the expression tests a date against `today` (`is today`)."""
    return any(isinstance(node, IsToday) for node in nodes_of(expr))
