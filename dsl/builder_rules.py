"""Builder methods for journeys, SLAs, leads and expressions (continues dsl/builder.py).

A subclass only so each module stays short; `TreeBuilder` is the one class the parser uses.
"""

from __future__ import annotations

import datetime as dt

from lark import v_args

from dsl import syntax as s
from dsl import syntax_ops as o
from dsl.builder import SyntaxBuilder, _ident, _Many, _number, _unquote, span_of


@v_args(meta=True)
class TreeBuilder(SyntaxBuilder):
    # ----- journeys ------------------------------------------------------------------------

    def journey(self, meta, c):
        block = s.Journey(_ident(c[0]), span_of(meta))
        # Actions at the top of a journey are its steps, in order with waits and branches.
        lines = [("steps", *line[1:]) if line[0] == "actions" else line for line in c[1:]]
        self._fold(block, lines)
        return ("journey", block, span_of(meta))

    def trigger(self, meta, c):
        return (
            "trigger",
            s.Trigger(c[0], c[1] if len(c) > 1 else None, span_of(meta)),
            span_of(meta),
        )

    def entry_when(self, meta, c):
        return ("when", c[0], span_of(meta))

    def exit_when(self, meta, c):
        return ("exits", s.ExitRule(None, c[0], span_of(meta)), span_of(meta))

    def exit_on_event(self, meta, c):
        rule = s.ExitRule(c[0], c[1] if len(c) > 1 else None, span_of(meta))
        return ("exits", rule, span_of(meta))

    def repeat_yearly(self, meta, c):
        return ("repeat_yearly", True, span_of(meta))

    def steps(self, meta, c):
        return tuple(step for _key, step, _span in c)

    def wait(self, meta, c):
        return ("steps", s.Wait(c[0], span_of(meta)), span_of(meta))

    def wait_event(self, meta, c):
        timeout = c.pop(0) if isinstance(c[0], s.Duration) else None
        event = c.pop(0)
        on_timeout = c.pop() if c and isinstance(c[-1], tuple) else ()
        where = c[0] if c else None
        step = s.WaitEvent(event, where, timeout, on_timeout, span_of(meta))
        return ("steps", step, span_of(meta))

    def if_step(self, meta, c):
        otherwise = c[2] if len(c) > 2 else ()
        return ("steps", s.If(c[0], c[1], otherwise, span_of(meta)), span_of(meta))

    def exit_step(self, meta, c):
        return ("steps", s.Exit(span_of(meta)), span_of(meta))

    # ----- SLAs ----------------------------------------------------------------------------

    def sla(self, meta, c):
        block = o.Sla(_ident(c[0]), span_of(meta))
        self._fold(block, [self._cancel_as_condition(line) for line in c[1:]])
        return ("sla", block, span_of(meta))

    def _cancel_as_condition(self, line):
        if isinstance(line, tuple) and len(line) == 2 and line[0] == "cancel_when":
            # `cancel when` parses through the task-option rule; in an sla it is a condition.
            expr = line[1]
            return ("conditions", o.Condition("cancel", expr, _expr_span(expr)), _expr_span(expr))
        return line

    def applies_to(self, meta, c):
        return ("applies_to", o.AppliesTo(_ident(c[0]), c[1], span_of(meta)), span_of(meta))

    def hours(self, meta, c):
        return ("hours", c[0], span_of(meta))

    def business_hours(self, meta, c):
        start, end = self._time_or_error(c[0]), self._time_or_error(c[1])
        return o.Hours(False, start, end, span_of(meta))

    def around_the_clock(self, meta, c):
        return o.Hours(True, None, None, span_of(meta))

    def timezone_from(self, meta, c):
        return ("timezone_from", _ident(c[1]), span_of(meta))

    def start_from(self, meta, c):
        return ("start_from", c[0], span_of(meta))

    def target(self, meta, c):
        target = o.SlaTarget(_ident(c[0]), tuple(c[1:]), span_of(meta))
        return ("targets", target, span_of(meta))

    def clock_target(self, meta, c):
        return o.ClockTarget(_ident(c[0]), c[1], span_of(meta))

    def deadline(self, meta, c):
        return ("deadline", o.Deadline(c[0], tuple(c[1:]), span_of(meta)), span_of(meta))

    def extend_to(self, meta, c):
        return o.Extension("to", c[0], span_of(meta))

    def extend_by(self, meta, c):
        return o.Extension("by", c[0], span_of(meta))

    def never_assign(self, meta, c):
        return ("never_assign", c[0], span_of(meta))

    def _condition(self, kind, meta, c):
        return ("conditions", o.Condition(kind, c[0], span_of(meta)), span_of(meta))

    def start_when(self, meta, c):
        return self._condition("start", meta, c)

    def pause_while(self, meta, c):
        return self._condition("pause", meta, c)

    def resume_when(self, meta, c):
        return self._condition("resume", meta, c)

    def stop_when(self, meta, c):
        return self._condition("stop", meta, c)

    def reset_when(self, meta, c):
        return self._condition("reset", meta, c)

    def escalate(self, meta, c):
        return _Many([("escalations", step, step.span) for step in c])

    def escalation(self, meta, c):
        (trigger, clock, percent, after), (action, recipient, template, priority) = c
        return o.Escalation(
            trigger, clock, percent, after, action, recipient, template, priority, span_of(meta)
        )

    def at_percent(self, meta, c):
        return ("at_percent", _ident(c[1]), float(str(c[0]).rstrip("%")), None)

    def on_breach(self, meta, c):
        return ("on_breach", _ident(c[0]), None, None)

    def after_breach(self, meta, c):
        return ("after_breach", _ident(c[1]), None, c[0])

    def notify(self, meta, c):
        return ("notify", c[0], _unquote(c[1]) if len(c) > 1 else None, None)

    def reassign(self, meta, c):
        return ("reassign", c[0], None, None)

    def raise_priority(self, meta, c):
        return ("raise_priority", None, None, _ident(c[0]) if c else None)

    # ----- leads ---------------------------------------------------------------------------

    def lead(self, meta, c):
        block = o.Lead(_ident(c[0]), span_of(meta))
        self._fold(block, c[1:])
        return ("lead", block, span_of(meta))

    def assign(self, meta, c):
        by = c[2] if len(c) > 2 else None
        return ("assign", o.Assign(_ident(c[0]), _unquote(c[1]), by, span_of(meta)), span_of(meta))

    def capacity(self, meta, c):
        return ("capacity", self._int(c[0], "a capacity"), span_of(meta))

    def first_contact(self, meta, c):
        otherwise = c[1] if len(c) > 1 else None
        return ("first_contact", o.FirstContact(c[0], otherwise, span_of(meta)), span_of(meta))

    def follow_up(self, meta, c):
        until = c[1] if len(c) > 1 else None
        return ("follow_up", o.FollowUp(c[0], until, span_of(meta)), span_of(meta))

    def overdue(self, meta, c):
        return _Many([("overdue", step, step.span) for step in c])

    def ladder_step(self, meta, c):
        return o.LadderStep(c[0], c[1], span_of(meta))

    def remind(self, meta, c):
        return o.LadderAction("remind", c[0], None, False, span_of(meta))

    def escalate_to(self, meta, c):
        return o.LadderAction("escalate_to", c[0], None, False, span_of(meta))

    def reassign_limit(self, meta, c):
        limit = self._int(c[0], "a reassignment limit")
        return o.LadderAction("reassign_limit", None, limit, len(c) > 1, span_of(meta))

    def then_pool(self, meta, c):
        return True

    def return_to_pool(self, meta, c):
        return o.LadderAction("return_to_pool", None, None, True, span_of(meta))

    def pool(self, meta, c):
        return _Many([("pool", rule, rule.span) for rule in c])

    def keep_level(self, meta, c):
        return o.PoolRule("keep_level", self._int(c[0], "a level"), c[1], None, span_of(meta))

    def release_after(self, meta, c):
        return o.PoolRule("release_after", None, c[0], c[1], span_of(meta))

    def cooldown(self, meta, c):
        return o.PoolRule("cooldown", None, c[0], None, span_of(meta))

    def claim_limit(self, meta, c):
        return o.PoolRule(
            "claim_limit", self._int(c[0], "a claim limit"), None, None, span_of(meta)
        )

    def hold_limit(self, meta, c):
        return o.PoolRule("hold_limit", self._int(c[0], "a hold limit"), None, None, span_of(meta))

    # ----- expressions ---------------------------------------------------------------------

    def or_(self, meta, c):
        return s.Binary("or", c[0], c[1], span_of(meta))

    def and_(self, meta, c):
        return s.Binary("and", c[0], c[1], span_of(meta))

    def not_(self, meta, c):
        return s.Unary("not", c[0], span_of(meta))

    def neg(self, meta, c):
        return s.Unary("-", c[0], span_of(meta))

    def compare(self, meta, c):
        return s.Binary(str(c[1]), c[0], c[2], span_of(meta))

    arith = compare

    def in_(self, meta, c):
        return s.InList(c[0], c[1], False, span_of(meta))

    def not_in(self, meta, c):
        return s.InList(c[0], c[1], True, span_of(meta))

    def list(self, meta, c):
        return tuple(c)

    def is_today(self, meta, c):
        return s.TimeTest("is_today", c[0], None, span_of(meta))

    def before_ago(self, meta, c):
        return s.TimeTest("before_ago", c[0], c[1], span_of(meta))

    def within_ago(self, meta, c):
        return s.TimeTest("within_ago", c[0], c[1], span_of(meta))

    def number(self, meta, c):
        return s.Literal("number", _number(c[0]), span_of(c[0]))

    def percent(self, meta, c):
        return s.Literal("percent", _number(c[0][:-1]) / 100, span_of(c[0]))

    def string(self, meta, c):
        return s.Literal("string", _unquote(c[0]).value, span_of(c[0]))

    def date(self, meta, c):
        try:
            value = dt.date.fromisoformat(str(c[0]))
        except ValueError:
            self._error(
                "E113",
                f"`{c[0]}` is not a calendar date",
                span_of(c[0]),
                "write dates as YYYY-MM-DD",
            )
            value = dt.date(1970, 1, 1)
        return s.Literal("date", value, span_of(c[0]))

    def true(self, meta, c):
        return s.Literal("bool", True, span_of(c[0]))

    def false(self, meta, c):
        return s.Literal("bool", False, span_of(c[0]))

    def path(self, meta, c):
        return s.Name(tuple(str(t) for t in c), span_of(meta))

    def call(self, meta, c):
        return s.Call(c[0], tuple(c[1:]), span_of(meta))


def _expr_span(expr) -> s.Span:
    return expr.span
