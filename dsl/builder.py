"""Turn Lark's parse tree into the typed syntax tree (dsl.syntax, dsl.syntax_ops).

Each grammar alternative has one method here. Line rules return `(key, value)` pairs and each
block method folds its lines into a dataclass, reporting a repeated single-valued line (E110).
The builder never raises: problems go into `self.diagnostics` and parsing carries on.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lark import Token, Transformer, v_args

from dsl import syntax as s
from dsl.errors import Diagnostic, Span


def span_of(item) -> Span:
    """The span of a token or a tree's meta."""
    return Span(item.line, item.column, item.end_line, item.end_column)


def _ident(token: Token) -> s.Ident:
    return s.Ident(str(token), span_of(token))


def _unquote(token: Token) -> s.Ident:
    text = str(token)[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return s.Ident(text, span_of(token))


def _time(token: Token) -> dt.time | None:
    hour, minute = (int(part) for part in str(token).split(":"))
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


def _number(token: Token) -> Decimal:
    return Decimal(str(token).replace("_", ""))


@v_args(meta=True)
class SyntaxBuilder(Transformer):
    def __init__(self, filename: str, source: str) -> None:
        super().__init__()
        self.filename = filename
        self.source = source
        self.diagnostics: list[Diagnostic] = []

    # ----- helpers -------------------------------------------------------------------------

    def _error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint))

    def _fold(self, block, lines) -> None:
        """Set each `(key, value)` line on the block; lists collect, singles must not repeat."""
        seen: dict[str, Span] = {}
        flat = [line for item in lines for line in (item if isinstance(item, _Many) else [item])]
        for key, value, span in flat:
            target = getattr(block, key)
            if isinstance(target, list):
                target.append(value)
                continue
            if key in seen:
                self._error(
                    "E110",
                    f"`{key}` is given twice in this block",
                    span,
                    f"the first one is on line {seen[key].line}; keep one",
                )
            seen[key] = span
            setattr(block, key, value)

    def _time_or_error(self, token: Token) -> dt.time:
        value = _time(token)
        if value is None:
            self._error(
                "E111",
                f"`{token}` is not a time of day",
                span_of(token),
                "write 24-hour time from 00:00 to 23:59",
            )
            return dt.time(0, 0)
        return value

    def _int(self, token: Token, what: str) -> int:
        value = _number(token)
        if value != value.to_integral_value() or value < 0:
            self._error("E112", f"{what} must be a whole number, not `{token}`", span_of(token))
            return 0
        return int(value)

    # ----- file and header -----------------------------------------------------------------

    def start(self, meta, children):
        header, *items = children
        result = s.RulesetFile(self.filename, self.source, header)
        for key, value, _span in items:
            getattr(result, {"field": "fields", "policy": "policies"}.get(key, key + "s")).append(
                value
            )
        return result

    def ruleset_header(self, meta, children):
        header = s.Header(_ident(children[0]))
        self._fold(header, children[1:])
        return header

    def title(self, meta, c):
        return ("title", _unquote(c[1]), span_of(meta))

    def owner(self, meta, c):
        return ("owner", _unquote(c[1]), span_of(meta))

    def timezone(self, meta, c):
        return ("timezone", _unquote(c[1]), span_of(meta))

    def calendar(self, meta, c):
        return ("calendar", _ident(c[1]), span_of(meta))

    def description(self, meta, c):
        return ("description", _unquote(c[1]), span_of(meta))

    def category(self, meta, c):
        return ("category", _ident(c[1]), span_of(meta))

    # ----- declarations --------------------------------------------------------------------

    def field_decl(self, meta, c):
        return ("field", s.FieldDecl(c[0], _ident(c[1]), span_of(meta)), span_of(meta))

    def policy(self, meta, c):
        block = s.Policy(_ident(c[0]), span_of(meta))
        self._fold(block, c[1:])
        return ("policy", block, span_of(meta))

    def quiet_hours(self, meta, c):
        value = (self._time_or_error(c[0]), self._time_or_error(c[1]), span_of(meta))
        return ("quiet_hours", value, span_of(meta))

    def requires(self, meta, c):
        return ("requires", c[0], span_of(meta)) if len(c) == 1 else self._many("requires", c, meta)

    def _many(self, key, values, meta):
        # Several values on one line fold like several lines.
        return _Many([(key, value, span_of(meta)) for value in values])

    def cap_count(self, meta, c):
        cap = s.Cap(self._int(c[0], "a cap"), _ident(c[1]), _ident(c[2]), c[3], span_of(meta))
        return ("caps", cap, span_of(meta))

    def cap_once(self, meta, c):
        unit = s.Ident("messages", span_of(c[0]))
        return ("caps", s.Cap(1, unit, _ident(c[1]), c[2], span_of(meta)), span_of(meta))

    def segment(self, meta, c):
        block = s.Segment(_ident(c[0]), span_of(meta))
        self._fold(block, c[1:])
        return ("segment", block, span_of(meta))

    def where(self, meta, c):
        return ("where", c[0], span_of(meta))

    # ----- campaigns -----------------------------------------------------------------------

    def campaign(self, meta, c):
        block = s.Campaign(_ident(c[0]), span_of(meta))
        self._fold(block, c[1:])
        return ("campaign", block, span_of(meta))

    def audience_line(self, meta, c):
        return ("audience", c[0], span_of(meta))

    def audience_all(self, meta, c):
        return s.Audience(None, c[0] if c else None, span_of(meta))

    def audience_segment(self, meta, c):
        return s.Audience(_ident(c[0]), c[1] if len(c) > 1 else None, span_of(meta))

    def schedule_line(self, meta, c):
        return ("schedule", c[0], span_of(meta))

    def daily(self, meta, c):
        return s.Schedule("daily", self._time_or_error(c[0]), span_of(meta))

    def weekly(self, meta, c):
        days = tuple(_ident(t) for t in c[:-1])
        return s.Schedule("weekly", self._time_or_error(c[-1]), span_of(meta), weekdays=days)

    def monthly(self, meta, c):
        day = self._int(c[0], "a day of the month")
        return s.Schedule("monthly", self._time_or_error(c[1]), span_of(meta), day_of_month=day)

    def personal_date(self, meta, c):
        at = self._time_or_error(c[1])
        return s.Schedule("personal_date", at, span_of(meta), date_field=c[0])

    def use_policy(self, meta, c):
        return ("policy", _ident(c[0]), span_of(meta))

    def reentry(self, meta, c):
        return ("reentry", c[0], span_of(meta))

    def reentry_never(self, meta, c):
        return s.Reentry(True, None, span_of(meta))

    def reentry_after(self, meta, c):
        return s.Reentry(False, c[0], span_of(meta))

    # ----- actions -------------------------------------------------------------------------

    def send(self, meta, c):
        return ("actions", s.Send(_ident(c[0]), _unquote(c[1]), span_of(meta)), span_of(meta))

    def task(self, meta, c):
        options = {key: value for key, value in c[3:]}
        task = s.Task(
            _ident(c[0]),
            c[1],
            c[2],
            options.get("escalate_to"),
            options.get("cancel_when"),
            options.get("note"),
            span_of(meta),
        )
        return ("actions", task, span_of(meta))

    def on_overdue(self, meta, c):
        return ("escalate_to", c[0])

    def cancel_when(self, meta, c):
        # Inside a task this is an option; inside an sla block it is a clock condition.
        return ("cancel_when", c[0])

    def note(self, meta, c):
        return ("note", _unquote(c[0]).value)

    def notify_action(self, meta, c):
        template = _unquote(c[1]) if len(c) > 1 else None
        return ("actions", s.Notify(c[0], template, span_of(meta)), span_of(meta))

    def target_field(self, meta, c):
        return s.Recipient("field", c[0].dotted, span_of(meta))

    def target_role(self, meta, c):
        return s.Recipient("role", str(c[0]), span_of(meta))

    def target_team(self, meta, c):
        return s.Recipient("team", _unquote(c[0]).value, span_of(meta))

    def target_user(self, meta, c):
        return s.Recipient("user", _unquote(c[0]).value, span_of(meta))

    # ----- durations -----------------------------------------------------------------------

    def duration(self, meta, c):
        business = len(c) == 3
        unit = str(c[-1]).rstrip("s")
        return s.Duration(_number(c[0]), unit, business, span_of(meta))


class _Many(list):
    """Several `(key, value, span)` lines produced by one source line."""
