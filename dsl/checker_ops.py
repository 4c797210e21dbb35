"""Checks for the operational rules: `sla` (tickets) and `lead` (sales follow-up).

SLA and lead conditions read only their own entity's fields: a ticket's clock must never
depend on customer data the workflow would have to fetch in the middle of a timer.
"""

from __future__ import annotations

from dsl import syntax_ops as o
from dsl.checker import Checker
from dsl.checker_rules import check_template
from dsl.errors import Span
from dsl.plan import SECONDS_PER_UNIT
from dsl.types import Type

TICKET_RECIPIENTS = ("assignee", "ticket.assignee", "manager")
LEAD_RECIPIENTS = ("owner", "lead.owner", "manager")
STRATEGIES = ("round_robin", "by_region", "by_load")
TIMEZONE_SOURCES = ("branch", "customer")


def check_sla(checker: Checker, sla: o.Sla, ruleset_calendar: str) -> None:
    """Structure, clocks, conditions and the escalation ladder of one SLA."""
    _applies_to(checker, sla.applies_to, "ticket", sla.name)
    if sla.calendar is not None:
        checker.calendar_name(sla.calendar)
    hours = sla.hours
    if hours is not None and not hours.around_the_clock and hours.start >= hours.end:
        checker.error(
            "E322",
            "business hours must start before they end",
            hours.span,
            "write the opening time first, e.g. `hours business 09:00 to 18:00`",
        )
    checker.timezone_name(sla.timezone)
    _once(checker, [(c.kind, c.span) for c in sla.conditions], "condition")
    if sla.timezone_from is not None and sla.timezone_from.value not in TIMEZONE_SOURCES:
        checker.error(
            "E323",
            f"time zone source `{sla.timezone_from.value}` is unknown",
            sla.timezone_from.span,
            "use `timezone from branch` or `from customer`",
        )
    if sla.start_from is not None:
        _field_of(checker, sla.start_from, "ticket", (Type.DATETIME,), "a ticket time")
    if sla.never_assign is not None:
        _field_of(checker, sla.never_assign, "ticket", (Type.STRING,), "a ticket person field")
    clocks = _targets(checker, sla)
    if sla.deadline is not None:
        checker.duration(sla.deadline.duration)
        for extension in sla.deadline.extensions:
            checker.duration(extension.duration)
    for condition in sla.conditions:
        checker.condition(condition.expr, ("ticket",), f"a `{condition.kind}` condition")
    priorities = {target.priority.value for target in sla.targets}
    for step in sla.escalations:
        if step.clock.value not in clocks:
            checker.error(
                "E313",
                f"no target defines a `{step.clock.value}` clock",
                step.clock.span,
                checker.suggest(step.clock.value, clocks)
                or f"clocks with a target: {', '.join(sorted(clocks)) or 'none'}",
            )
        if step.percent is not None and not 0 < step.percent < 100:
            checker.error(
                "E317",
                "a warning percentage lies between 0% and 100%",
                step.span,
                "e.g. `at 75% of resolution`; for the deadline itself write `on breach of ...`",
            )
        checker.duration(step.after)
        if step.recipient is not None:
            checker.recipient(step.recipient, TICKET_RECIPIENTS)
        if step.template is not None:
            check_template(checker, "notify", step.template)
        if step.priority is not None and step.priority.value not in priorities:
            checker.error(
                "E313",
                f"no target defines priority `{step.priority.value}`",
                step.priority.span,
                checker.suggest(step.priority.value, priorities)
                or f"priorities with a target: {', '.join(sorted(priorities)) or 'none'}",
            )


def _targets(checker: Checker, sla: o.Sla) -> set[str]:
    if not sla.targets:
        checker.error(
            "E325",
            f"sla `{sla.name.value}` has no target",
            sla.name.span,
            "add `target normal: first_response 8 business hours, ...`",
        )
    clocks: set[str] = set()
    seen: set[str] = set()
    for target in sla.targets:
        if target.priority.value in seen:
            checker.error(
                "E324",
                f"priority `{target.priority.value}` has two targets",
                target.priority.span,
                "put all of a priority's clocks on one `target` line",
            )
        seen.add(target.priority.value)
        names = [clock.clock.value for clock in target.clocks]
        for clock in target.clocks:
            if names.count(clock.clock.value) > 1:
                checker.error(
                    "E324",
                    f"clock `{clock.clock.value}` is set twice",
                    clock.span,
                    "keep one target per clock",
                )
            checker.duration(clock.duration)
        clocks.update(names)
    return clocks


def check_lead(checker: Checker, lead: o.Lead) -> None:
    """Assignment, deadlines, the overdue ladder and pool rules of one lead rule."""
    _applies_to(checker, lead.applies_to, "lead", lead.name)
    if lead.calendar is not None:
        checker.calendar_name(lead.calendar)
    if lead.assign is None:
        checker.error(
            "E314",
            f"lead `{lead.name.value}` has no `assign` line",
            lead.name.span,
            'add `assign round_robin in team "..."`',
        )
    elif lead.assign.strategy.value not in STRATEGIES:
        checker.error(
            "E314",
            f"unknown assignment `{lead.assign.strategy.value}`",
            lead.assign.strategy.span,
            checker.suggest(lead.assign.strategy.value, STRATEGIES)
            or f"use one of: {', '.join(STRATEGIES)}",
        )
    if lead.assign is not None and lead.assign.by is not None:
        _field_of(checker, lead.assign.by, "lead", (Type.STRING,), "a lead field")
    if lead.capacity is not None and lead.capacity < 1:
        checker.error("E316", "capacity must be at least 1", _line_span(checker, lead, "capacity"))
    if lead.first_contact is None:
        checker.error(
            "E315",
            f"lead `{lead.name.value}` has no first-contact deadline",
            lead.name.span,
            "add `first_contact within 24 hours`",
        )
    else:
        checker.duration(lead.first_contact.within)
        _ladder_action(checker, lead.first_contact.otherwise)
    if lead.follow_up is not None:
        checker.duration(lead.follow_up.every)
        checker.condition(lead.follow_up.until, ("lead",), "a follow-up condition")
    previous = None
    for step in lead.overdue:
        checker.duration(step.after)
        _ladder_action(checker, step.action)
        key = _wait_key(step.after)
        if previous is not None and previous[1][0] == key[0] and previous[1][1] >= key[1]:
            checker.error(
                "E326",
                "overdue steps must come in increasing order",
                step.span,
                f"the step before waits {previous[0]}; list the steps from the shortest wait",
            )
        previous = (step.after, key)
    pool_keys = [
        (f"keep_level_{r.number}" if r.kind == "keep_level" else r.kind, r.span)
        for r in lead.pool
        if r.kind != "release_after"
    ]
    _once(checker, pool_keys, "rule")
    for rule in lead.pool:
        checker.duration(rule.duration)
        if rule.field is not None:
            _field_of(checker, rule.field, "lead", (Type.DATE,), "a lead date field")
        if rule.kind == "keep_level" and not 1 <= (rule.number or 0) <= 5:
            checker.error("E316", "customer levels run from 1 to 5", rule.span)
        if rule.kind in ("claim_limit", "hold_limit") and (rule.number or 0) < 1:
            checker.error("E316", "a limit must be at least 1", rule.span)


def _wait_key(duration) -> tuple[tuple, object]:
    # Business time only compares with the same business unit; clock time converts freely.
    if not duration.business and duration.unit in SECONDS_PER_UNIT:
        return ("clock",), duration.amount * SECONDS_PER_UNIT[duration.unit]
    return (duration.business, duration.unit), duration.amount


def _line_span(checker: Checker, block, keyword: str) -> Span:
    # Some single-valued lines keep only their value; find the line itself for the caret.
    lines = checker.file.source.splitlines()
    last = min(block.span.end_line or len(lines), len(lines))
    for number in range(block.span.line, last + 1):
        text = lines[number - 1]
        if text.lstrip(" ").startswith(keyword + " "):
            content = text.split("#", 1)[0].rstrip()
            return Span(number, len(text) - len(text.lstrip(" ")) + 1, number, len(content) + 1)
    return block.name.span


def _once(checker: Checker, keyed: list, what: str) -> None:
    # Lines that fold into a list, yet mean one setting each: a second one would silently win.
    seen: dict[str, object] = {}
    for key, span in keyed:
        if key in seen:
            checker.error(
                "E110",
                f"`{key.replace('_', ' ')}` {what} is given twice in this block",
                span,
                f"the first one is on line {seen[key].line}; keep one",
            )
        seen.setdefault(key, span)


def _ladder_action(checker: Checker, action: o.LadderAction | None) -> None:
    if action is None:
        return
    if action.recipient is not None:
        checker.recipient(action.recipient, LEAD_RECIPIENTS)
    if action.kind == "reassign_limit" and (action.limit or 0) < 1:
        checker.error("E316", "reassign at_most needs at least 1", action.span)


def _applies_to(checker: Checker, applies: o.AppliesTo | None, entity: str, name) -> None:
    if applies is None:
        checker.error(
            "E312",
            f"`{name.value}` does not say what it applies to",
            name.span,
            f"add `applies to {entity} where ...`",
        )
        return
    if applies.entity.value != entity:
        checker.error(
            "E312",
            f"this rule applies to a {entity}, not a `{applies.entity.value}`",
            applies.entity.span,
            f"write `applies to {entity} where ...`",
        )
        return
    checker.condition(applies.where, (entity,), f"a {entity} rule")


def _field_of(checker: Checker, name, entity: str, types, what: str) -> None:
    field = checker.fields.get(name.dotted)
    if field is None or name.parts[0] != entity or field.type not in types:
        candidates = [
            p for p, f in checker.fields.items() if p.startswith(entity + ".") and f.type in types
        ]
        checker.error(
            "E327",
            f"`{name.dotted}` is not {what}",
            name.span,
            checker.suggest_path(name.dotted, candidates)
            or f"use one of: {', '.join(candidates) or 'none'}",
        )
