"""Type-check an expression's syntax tree against the schema and lower it to the typed IR.

Every name resolves through the schema (there is no other way to reach data), so the IR only
ever holds known field paths. Problems are appended to the caller's diagnostic list and a
placeholder IR is returned, which lets the checker report every mistake in one pass.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from decimal import Decimal

from dsl import expr as ir
from dsl import syntax as s
from dsl.errors import Diagnostic
from dsl.plan import SECONDS_PER_UNIT
from dsl.schema import Field
from dsl.types import Type, comparable

_ERROR = ir.Lit(type=Type.BOOL, value=False)  # stands in for a subtree that had an error
EVENT_FILTER = "an event filter"
AUDIENCE = ("customer", "consent")
ENTITY_ORDER = ("customer", "consent", "ticket", "lead", "event")
TYPE_WORDS = {
    Type.NUMBER: "a number",
    Type.STRING: "text",
    Type.BOOL: "a true/false value",
    Type.DATE: "a date",
    Type.ANNIVERSARY: "a yearly date (birthday, anniversary)",
    Type.DATETIME: "a date and time",
    Type.TIME: "a time of day",
    Type.DURATION: "a duration",
    Type.PRODUCTS: "a list of products",
}
MAX_DAYS = 36_600
DAYS = {
    "minute": Decimal(1) / 1440,
    "hour": Decimal(1) / 24,
    "day": Decimal(1),
    "week": Decimal(7),
    "month": Decimal(31),
    "year": Decimal(366),
}


def number_value(value: Decimal) -> int | float:
    """A source number as the IR stores it (int when whole)."""
    return int(value) if value == value.to_integral_value() else float(value)


class ExprChecker:
    def __init__(self, fields: Mapping[str, Field], diagnostics: list[Diagnostic]) -> None:
        self.fields = fields
        self.diagnostics = diagnostics

    def condition(self, node: s.Node, entities: Collection[str], where: str) -> ir.Expr:
        """Check a condition (must be true/false) that may read only `entities`' fields."""
        result, type_ = self._expr(node, entities, where)
        if type_ not in (Type.BOOL, None):
            self._error(
                "E213",
                f"a condition must be true or false, but this is {describe(type_)}",
                node,
                "compare it, e.g. `customer.total_assets >= 50_000`",
            )
            return _ERROR
        if isinstance(result, ir.FieldRef):
            return ir.BoolField(field=result)
        return result

    # ----- dispatch ------------------------------------------------------------------------

    def _expr(self, node, entities, where) -> tuple[ir.Expr, Type | None]:
        if isinstance(node, s.Literal):
            return self._literal(node)
        if isinstance(node, s.Name):
            return self._field(node, entities, where)
        if isinstance(node, s.Binary):
            if node.op in ("and", "or"):
                return self._logic(node, entities, where)
            if node.op in ("+", "-", "*", "/"):
                return self._arith(node, entities, where)
            return self._compare(node, entities, where)
        if isinstance(node, s.Unary):
            return self._unary(node, entities, where)
        if isinstance(node, s.InList):
            return self._in(node, entities, where)
        if isinstance(node, s.TimeTest):
            return self._time_test(node, entities, where)
        if isinstance(node, s.Call):
            return self._call(node, entities, where)
        self._error("E219", "this expression is not supported here", node)
        return _ERROR, None

    def _error(self, code: str, message: str, node, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, node.span, hint))

    # ----- leaves --------------------------------------------------------------------------

    def _literal(self, node: s.Literal) -> tuple[ir.Expr, Type]:
        if node.kind in ("number", "percent"):
            return ir.Lit(type=Type.NUMBER, value=number_value(node.value)), Type.NUMBER
        if node.kind == "string":
            return ir.Lit(type=Type.STRING, value=node.value), Type.STRING
        if node.kind == "date":
            return ir.Lit(type=Type.DATE, value=node.value.isoformat()), Type.DATE
        return ir.Lit(type=Type.BOOL, value=node.value), Type.BOOL

    def _field(self, node: s.Name, entities, where) -> tuple[ir.Expr, Type | None]:
        path = node.dotted
        field = self.fields.get(path)
        if field is None:
            self._unknown_field(node, entities)
            return _ERROR, None
        if path.split(".")[0] not in entities:
            customer_in_filter = where == EVENT_FILTER and path.split(".")[0] in AUDIENCE
            names = [e for e in ENTITY_ORDER if e in entities]
            allowed = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 2 else names)
            self._error(
                "E211",
                f"`{path}` cannot be used in {where}",
                node,
                f"only {allowed} fields can be used there"
                + ("; put customer conditions on a `when` line" if customer_in_filter else ""),
            )
            return _ERROR, None
        if field.type is Type.PRODUCTS:
            self._error(
                "E216",
                "`customer.products` is tested with holds()",
                node,
                'write `customer.holds("mortgage")`',
            )
            return _ERROR, None
        ref = ir.FieldRef(path=path, type=field.type, nullable=field.nullable, custom=field.custom)
        return ref, field.type

    def _unknown_field(self, node: s.Name, entities) -> None:
        path = node.dotted
        candidates = [p for p in self.fields if p.split(".")[0] in entities]
        match = closest_path(path, candidates)
        if len(node.parts) == 1:
            if match:
                hint = f"did you mean `{match}`?"
            elif path == "today":
                hint = "test a date with `is today`, e.g. `customer.birthday is today`"
            else:
                hint = f'fields are written entity.field; the text "{path}" goes in quotes'
            self._error("E210", f"unknown name `{path}`", node, hint)
            return
        if match:
            hint = f"did you mean `{match}`?"
        elif node.parts[0] == "customer" and len(node.parts) == 2:
            hint = f"declare a bank-specific attribute first: `field {path}: <type>`"
        elif node.parts[0] in ENTITY_ORDER:
            known = sorted(p.split(".", 1)[1] for p in self.fields if p.startswith(node.parts[0]))
            hint = f"{node.parts[0]} fields: {', '.join(known)}"
        else:
            hint = f"fields start with {', '.join(e + '.' for e in ENTITY_ORDER)}"
        self._error("E210", f"unknown field `{path}`", node, hint)

    # ----- operators -----------------------------------------------------------------------

    def _logic(self, node: s.Binary, entities, where):
        args: list[ir.Expr] = []
        for side in (node.left, node.right):
            checked = self.condition(side, entities, where)
            same = ir.And if node.op == "and" else ir.Or
            # Flatten `a and b and c` into one node: shallower trees for both backends.
            args.extend(checked.args if isinstance(checked, same) else [checked])
        return (ir.And(args=args) if node.op == "and" else ir.Or(args=args)), Type.BOOL

    def _unary(self, node: s.Unary, entities, where):
        if node.op == "not":
            return ir.Not(arg=self.condition(node.arg, entities, where)), Type.BOOL
        arg, type_ = self._expr(node.arg, entities, where)
        if type_ not in (Type.NUMBER, None):
            self._error("E218", f"cannot negate {describe(type_)}", node)
            return _ERROR, None
        return ir.Neg(arg=arg), Type.NUMBER

    def _arith(self, node: s.Binary, entities, where):
        left, lt = self._expr(node.left, entities, where)
        right, rt = self._expr(node.right, entities, where)
        for side, type_ in ((node.left, lt), (node.right, rt)):
            if type_ not in (Type.NUMBER, None):
                self._error(
                    "E218", f"`{node.op}` needs numbers, but this is {describe(type_)}", side
                )
                return _ERROR, None
        return ir.Arith(op=node.op, left=left, right=right), Type.NUMBER

    def _compare(self, node: s.Binary, entities, where):
        left, lt = self._expr(node.left, entities, where)
        right, rt = self._expr(node.right, entities, where)
        if lt is None or rt is None:
            return _ERROR, Type.BOOL
        if not comparable(lt, rt):
            self._error(
                "E212",
                f"cannot compare {describe(lt)} with {describe(rt)}",
                node,
                _compare_hint(lt, rt),
            )
            return _ERROR, Type.BOOL
        if node.op not in ("==", "!=") and not lt.is_ordered:
            self._error(
                "E212",
                f"`{node.op}` does not apply to {describe(lt)}",
                node,
                "use == or != for true/false values",
            )
            return _ERROR, Type.BOOL
        return ir.Compare(op=node.op, left=left, right=right), Type.BOOL

    def _in(self, node: s.InList, entities, where):
        item, type_ = self._expr(node.item, entities, where)
        values: list[ir.Lit] = []
        for option in node.options:
            if not isinstance(option, s.Literal):
                self._error(
                    "E217",
                    "list items must be literal values",
                    option,
                    'write the values themselves, e.g. ["won", "lost"]',
                )
                continue
            lit, lit_type = self._literal(option)
            if type_ is not None and not comparable(type_, lit_type):
                self._error(
                    "E217",
                    f"this list holds {describe(lit_type)} but `in` tests {describe(type_)}",
                    option,
                    f"every value in the list must be {describe(type_)}",
                )
                continue
            values.append(lit)
        if type_ is None:
            return _ERROR, Type.BOOL
        if not node.options:
            self._error(
                "E217", "an empty list matches nothing", node, 'list the values: ["won", "lost"]'
            )
        return ir.In(item=item, values=values, negated=node.negated), Type.BOOL

    def _time_test(self, node: s.TimeTest, entities, where):
        subject, type_ = self._expr(node.subject, entities, where)
        if type_ is None:
            return _ERROR, Type.BOOL
        if node.kind == "is_today":
            if not isinstance(subject, ir.FieldRef) or type_ not in (Type.DATE, Type.ANNIVERSARY):
                self._error(
                    "E214",
                    "`is today` needs a date field",
                    node.subject,
                    "e.g. `customer.birthday is today`",
                )
                return _ERROR, Type.BOOL
            return ir.IsToday(field=subject), Type.BOOL
        if type_ not in (Type.DATE, Type.DATETIME):
            self._error(
                "E215",
                f"`{node.kind.split('_')[0]} ... ago` needs a date or time, "
                f"but this is {describe(type_)}",
                node.subject,
                "use it on a date field, e.g. `customer.last_transaction_at within 30 days ago`",
            )
            return _ERROR, Type.BOOL
        seconds = self.fixed_seconds(node.duration)
        if seconds is None or self.too_long(node.duration):
            return _ERROR, Type.BOOL
        ago = ir.Ago(type=Type.DATETIME if type_ is Type.DATETIME else Type.DATE, seconds=seconds)
        if node.kind == "before_ago":
            return ir.Compare(op="<", left=subject, right=ago), Type.BOOL
        # "within N days" looks back from now: a date in the future is not within the past N.
        now = ir.Ago(type=ago.type, seconds=0)
        since = ir.Compare(op=">=", left=subject, right=ago)
        return ir.And(args=[since, ir.Compare(op="<=", left=subject, right=now)]), Type.BOOL

    def _call(self, node: s.Call, entities, where):
        name = node.target.dotted
        if name != "customer.holds":
            self._error(
                "E216",
                f"unknown function `{name}`",
                node.target,
                'the one function is `customer.holds("product")`',
            )
            return _ERROR, None
        if "customer" not in entities:
            self._error("E211", f"`{name}` cannot be used in {where}", node)
            return _ERROR, None
        if len(node.args) != 1 or not (
            isinstance(node.args[0], s.Literal) and node.args[0].kind == "string"
        ):
            self._error(
                "E216",
                "holds() takes one product name in quotes",
                node,
                'e.g. `customer.holds("mortgage")`',
            )
            return _ERROR, None
        return ir.Holds(product=node.args[0].value), Type.BOOL

    def too_long(self, duration: s.Duration) -> bool:
        """Report a duration beyond MAX_DAYS (a typo, and past what date arithmetic can hold)."""
        if duration.amount * DAYS[duration.unit] <= MAX_DAYS:
            return False
        self._error(
            "E316",
            f"`{duration}` is longer than 100 years",
            duration,
            "check the number; durations are written like `90 days` or `3 business days`",
        )
        return True

    def fixed_seconds(self, duration: s.Duration) -> int | None:
        """A calendar-free duration in seconds, or a diagnostic."""
        if duration.business or duration.unit not in SECONDS_PER_UNIT:
            self._error(
                "E220",
                f"`{duration}` has no fixed length here",
                duration,
                "use minutes, hours, days or weeks (not business time, months or years)",
            )
            return None
        return int(duration.amount * SECONDS_PER_UNIT[duration.unit])


def describe(type_: Type) -> str:
    """A type in the author's words: "a number", "text", "a true/false value"."""
    return TYPE_WORDS.get(type_, f"a {type_}")


def closest_path(path: str, candidates) -> str | None:
    """The known dotted path an author most likely meant, comparing the last part first."""
    prefix, _, last = path.rpartition(".")
    same_prefix = {c.rpartition(".")[2]: c for c in candidates if c.rpartition(".")[0] == prefix}
    match = difflib.get_close_matches(last, list(same_prefix), n=1, cutoff=0.75)
    if match:
        return same_prefix[match[0]]
    if not prefix:  # a bare name: `tier` for `customer.tier`
        by_last = [c for c in candidates if c.rpartition(".")[2] == last]
        return by_last[0] if len(by_last) == 1 else None
    match = difflib.get_close_matches(path, list(candidates), n=1, cutoff=0.85)
    return match[0] if match else None


def _compare_hint(left: Type, right: Type) -> str | None:
    if Type.STRING in (left, right) and Type.NUMBER in (left, right):
        return 'numbers are written without quotes: `50_000`, not `"50000"`'
    if Type.DATETIME in (left, right):
        return "compare times with `before N days ago` or `within N days`"
    return None
