"""Compliance lints: warnings a reviewer in compliance wants to see before approving a version.

They run only on files without errors and never block a compile; the approval screen shows
them beside the diff. Each has a stable W5xx code listed in docs/language.md.
"""

from __future__ import annotations

from dsl import expr as ir
from dsl import syntax as s
from dsl.checker import Checker


def lint(checker: Checker) -> None:
    """Append every compliance warning for the checked file."""
    for campaign in checker.file.campaigns:
        audience = checker.expr(campaign.audience.where) if campaign.audience else None
        segment = campaign.audience.segment if campaign.audience else None
        if segment is not None and segment.value in checker.segments:
            seg_where = checker.segments[segment.value].where
            audience_fields = granted_consents(checker.ir[id(seg_where)]) if seg_where else set()
        else:
            audience_fields = set()
        if audience is not None:
            audience_fields |= granted_consents(audience)
        sends = [(action, audience_fields) for action in campaign.actions]
        _marketing_rule(checker, campaign, sends)
        _quiet_schedule(checker, campaign)
    for journey in checker.file.journeys:
        entry = checker.expr(journey.when)
        consulted = granted_consents(entry) if entry is not None else set()
        _marketing_rule(checker, journey, list(_walk(checker, journey.steps, consulted)))
        _journey_flow(checker, journey.steps)
    _overlapping_slas(checker)


def granted_consents(expr: ir.Expr) -> set[str]:
    """Consents a condition *requires* to be granted (a mere mention, `not consent.sms` or an
    `or` branch, does not protect a customer)."""
    if isinstance(expr, ir.BoolField) and expr.field.path.startswith("consent."):
        return {expr.field.path}
    if isinstance(expr, ir.Compare) and expr.op == "==" and isinstance(expr.left, ir.FieldRef):
        right = expr.right
        if expr.left.path.startswith("consent.") and isinstance(right, ir.Lit) and right.value:
            return {expr.left.path}
    if isinstance(expr, ir.And):
        return set().union(*(granted_consents(arg) for arg in expr.args))
    if isinstance(expr, ir.Or):
        return set.intersection(*(granted_consents(arg) for arg in expr.args))
    return set()


def _marketing_rule(checker: Checker, rule, actions) -> None:
    """`actions` are (step, consents granted on the way to it) pairs."""
    policy = checker.effective_policy(rule)
    if checker.rule_category(rule) != "marketing":
        return
    sends = [(a, granted) for a, granted in actions if isinstance(a, s.Send)]
    if not sends:
        return
    required = {p.dotted for p in policy.requires} if policy else set()
    for send, consulted in sends:
        channel_consent = {f"consent.{send.channel.value}", "consent.marketing"}
        if not (channel_consent & (required | consulted)):
            checker.warn(
                "W501",
                f"marketing {send.channel.value} send without a consent check",
                send.span,
                "use a policy with `requires consent.marketing`, or add "
                f"`consent.{send.channel.value}` to the audience",
            )
        if send.channel.value == "sms":
            _opt_out_text(checker, send)
    if not rule.caps and not (policy and policy.caps):
        checker.warn(
            "W503",
            f"marketing rule `{rule.name.value}` has no frequency cap",
            rule.name.span,
            "add `at_most N messages per customer per D days` or a policy with one",
        )


def _opt_out_text(checker: Checker, send: s.Send) -> None:
    if checker.catalog is None:
        return
    locales = checker.catalog.locales("sms", send.template.value)
    missing = [
        loc for loc, files in sorted(locales.items()) if not any(f.has_opt_out for f in files)
    ]
    if missing:
        checker.warn(
            "W504",
            f"marketing SMS `{send.template.value}` ({', '.join(missing)}) has no opt-out text",
            send.template.span,
            'end it with "回复TD退订" / "Reply STOP to opt out"',
        )


def _quiet_schedule(checker: Checker, campaign: s.Campaign) -> None:
    policy = checker.effective_policy(campaign)
    if campaign.schedule is None or policy is None or policy.quiet_hours is None:
        return
    start, end, _span = policy.quiet_hours
    at = campaign.schedule.at
    inside = (start <= at < end) if start < end else (at >= start or at < end)
    if inside:
        checker.warn(
            "W502",
            f"scheduled at {at:%H:%M}, inside quiet hours {start:%H:%M}-{end:%H:%M}",
            campaign.schedule.span,
            "every send would be deferred; schedule outside the quiet hours",
        )


def _walk(checker: Checker, steps, granted: set[str]):
    """Every step with the consents its enclosing `if` conditions require."""
    for step in steps:
        yield step, granted
        if isinstance(step, s.If):
            condition = checker.expr(step.condition)
            yield from _walk(checker, step.then, granted | granted_consents(condition))
            yield from _walk(checker, step.otherwise, granted)
        elif isinstance(step, s.WaitEvent):
            yield from _walk(checker, step.on_timeout, granted)


def _journey_flow(checker: Checker, steps) -> None:
    exited = None
    for step in steps:
        if exited is not None:
            checker.warn(
                "W506",
                "this step can never run",
                step.span,
                f"the journey exits on line {exited.span.line}",
            )
            break
        if isinstance(step, s.Exit):
            exited = step
        elif isinstance(step, s.WaitEvent):
            if step.timeout is None:
                checker.warn(
                    "W505",
                    f"waiting for `{step.event.dotted}` may never end",
                    step.span,
                    "add a timeout: `wait up to 7 days for event ...`",
                )
            _journey_flow(checker, step.on_timeout)
        elif isinstance(step, s.If):
            _journey_flow(checker, step.then)
            _journey_flow(checker, step.otherwise)


def _overlapping_slas(checker: Checker) -> None:
    slas = [sla for sla in checker.file.slas if sla.applies_to is not None]
    for index, later in enumerate(slas):
        for earlier in slas[:index]:
            if not _disjoint(
                checker.ir[id(earlier.applies_to.where)], checker.ir[id(later.applies_to.where)]
            ):
                checker.warn(
                    "W507",
                    f"sla `{later.name.value}` may match the same tickets as "
                    f"`{earlier.name.value}`",
                    later.applies_to.span,
                    f"a ticket gets the first sla that matches, so tickets matching both get "
                    f"`{earlier.name.value}`; make the conditions exclusive",
                )
                break


def _disjoint(left: ir.Expr, right: ir.Expr) -> bool:
    # Proven disjoint only when both pin one field to different values; otherwise assume overlap.
    a, b = _pins(left), _pins(right)
    return any(path in b and not (a[path] & b[path]) for path in a)


def _pins(expr: ir.Expr) -> dict[str, set]:
    atoms = expr.args if isinstance(expr, ir.And) else [expr]
    pins: dict[str, set] = {}
    for atom in atoms:
        if (
            isinstance(atom, ir.Compare)
            and atom.op == "=="
            and isinstance(atom.left, ir.FieldRef)
            and isinstance(atom.right, ir.Lit)
        ):
            pins.setdefault(atom.left.path, set()).add(atom.right.value)
        elif isinstance(atom, ir.In) and not atom.negated and isinstance(atom.item, ir.FieldRef):
            pins.setdefault(atom.item.path, set()).update(v.value for v in atom.values)
    return pins
