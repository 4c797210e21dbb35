"""Compile a checked rule file into a sealed Plan (see dsl/plan.py for the shapes).

Lowering decisions live here: a segment is inlined into each audience that names it, a rule's
contact policy is copied into the rule, a personal-date schedule (`on customer.birthday`)
becomes a daily audience query with `is today` added (never a sleeping workflow per customer),
and every action gets a step id from its position, which idempotency keys are built from.
"""

from __future__ import annotations

from dsl import expr as ir
from dsl import plan as p
from dsl import plan_ops as po
from dsl import syntax as s
from dsl.checker import Checked, check, policy_category
from dsl.compiler_ops import compile_lead, compile_sla, duration, recipient
from dsl.errors import DslError
from dsl.parser import parse
from dsl.result import CompileResult
from dsl.templates_catalog import TemplateCatalog

WEEKDAY_CODES = {
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}


def compile_source(
    source: str, filename: str = "<input>", catalog: TemplateCatalog | None = None
) -> CompileResult:
    """Parse, check and compile rule text; raises DslError (and nothing else) on any problem."""
    try:
        checked = check(parse(source, filename), catalog)
        return CompileResult(compile_checked(checked), checked.warnings)
    except DslError:
        raise
    except RecursionError:
        from dsl.errors import Diagnostic, Span

        raise DslError(
            [Diagnostic("E902", "rule file is nested too deeply", Span(1, 1))], source, filename
        ) from None


def compile_checked(checked: Checked) -> po.Plan:
    """Lower a checked file to a sealed plan."""
    file, header = checked.file, checked.file.header
    policies = {pol.name.value: _policy(pol) for pol in file.policies}
    segments = {seg.name.value: checked.expr(seg.where) for seg in file.segments}
    plan = po.Plan(
        ruleset=header.name.value,
        title=header.title.value if header.title else None,
        owner=header.owner.value if header.owner else None,
        description=header.description.value if header.description else None,
        timezone=checked.timezone,
        calendar=checked.calendar,
        fields={d.path.dotted: d.type_name.value for d in file.fields},
        policies=list(policies.values()),
        segments=segments,
        campaigns=[_campaign(checked, c, policies, segments) for c in file.campaigns],
        journeys=[_journey(checked, j, policies) for j in file.journeys],
        slas=[compile_sla(checked, sla) for sla in file.slas],
        leads=[compile_lead(checked, lead) for lead in file.leads],
    )
    return plan.sealed()


def _policy(node: s.Policy) -> p.PolicySpec:
    quiet = node.quiet_hours
    return p.PolicySpec(
        name=node.name.value,
        category=policy_category(node),
        quiet_start=f"{quiet[0]:%H:%M}" if quiet else None,
        quiet_end=f"{quiet[1]:%H:%M}" if quiet else None,
        caps=[_cap(cap) for cap in node.caps],
        requires=[path.dotted for path in node.requires],
    )


def _cap(node: s.Cap) -> p.CapSpec:
    return p.CapSpec(
        count=node.count, unit=node.unit.value, per=node.per.value, window=duration(node.window)
    )


def _rule_policy(checked: Checked, node, policies) -> tuple[str, p.PolicySpec | None]:
    # A policy named after a category (`policy marketing`) is that category's default.
    category = node.category.value if node.category else None
    named = policies.get(node.policy.value) if node.policy else None
    if category is None:
        category = named.category if named is not None else "marketing"
    return category, named if node.policy else policies.get(category)


def _campaign(checked: Checked, node: s.Campaign, policies, segments) -> p.CampaignSpec:
    audience_node = node.audience
    parts: list[ir.Expr] = []
    segment = audience_node.segment.value if audience_node.segment else None
    if segment is not None:
        parts.append(segments[segment])
    if audience_node.where is not None:
        parts.append(checked.expr(audience_node.where))
    schedule = None
    if node.schedule is not None:
        schedule, personal = _schedule(checked, node.schedule)
        if personal is not None:
            parts.append(personal)
    audience = _all_of(parts)
    if schedule is not None and schedule.kind == "daily" and ir.reads_today(audience):
        schedule = schedule.model_copy(update={"local_time": True})
    category, policy = _rule_policy(checked, node, policies)
    return p.CampaignSpec(
        name=node.name.value,
        title=node.title.value if node.title else None,
        category=category,
        audience=audience,
        segment=segment,
        schedule=schedule,
        policy=policy,
        caps=[_cap(cap) for cap in node.caps],
        reentry_after=duration(node.reentry.after) if node.reentry and node.reentry.after else None,
        reentry_never=bool(node.reentry and node.reentry.never),
        actions=[_action(checked, action, f"a{i}") for i, action in enumerate(node.actions, 1)],
    )


def _all_of(parts: list[ir.Expr]) -> ir.Expr:
    if not parts:
        return ir.Lit(type="bool", value=True)
    flat: list[ir.Expr] = []
    for part in parts:
        flat.extend(part.args if isinstance(part, ir.And) else [part])
    return flat[0] if len(flat) == 1 else ir.And(args=flat)


def _schedule(checked: Checked, node: s.Schedule) -> tuple[p.ScheduleSpec, ir.Expr | None]:
    at = f"{node.at:%H:%M}"
    if node.kind == "personal_date":
        field = checked.fields[node.date_field.dotted]
        ref = ir.FieldRef(
            path=field.path, type=field.type, nullable=field.nullable, custom=field.custom
        )
        spec = p.ScheduleSpec(
            kind="daily", at=at, timezone=checked.timezone, personal_date=field.path
        )
        return spec, ir.IsToday(field=ref)
    return p.ScheduleSpec(
        kind=node.kind,
        at=at,
        weekdays=[WEEKDAY_CODES[d.value] for d in node.weekdays],
        day_of_month=node.day_of_month,
        timezone=checked.timezone,
    ), None


def _action(checked: Checked, node, step: str):
    if isinstance(node, s.Send):
        return p.SendStep(step=step, channel=node.channel.value, template=node.template.value)
    if isinstance(node, s.Task):
        return p.TaskStep(
            step=step,
            task=node.kind.value,
            assignee=recipient(node.assignee),
            due=duration(node.due),
            escalate_to=recipient(node.escalate_to) if node.escalate_to else None,
            cancel_when=checked.expr(node.cancel_when),
            note=node.note,
        )
    return p.NotifyStep(
        step=step,
        recipient=recipient(node.recipient),
        template=node.template.value if node.template else None,
    )


def _journey(checked: Checked, node: s.Journey, policies) -> p.JourneySpec:
    category, policy = _rule_policy(checked, node, policies)
    return p.JourneySpec(
        name=node.name.value,
        title=node.title.value if node.title else None,
        category=category,
        event=node.trigger.event.dotted,
        event_where=checked.expr(node.trigger.where),
        entry=checked.expr(node.when),
        exits=[
            p.ExitSpec(
                event=e.event.dotted if e.event else None, condition=checked.expr(e.condition)
            )
            for e in node.exits
        ],
        policy=policy,
        caps=[_cap(cap) for cap in node.caps],
        reentry_after=duration(node.reentry.after) if node.reentry and node.reentry.after else None,
        reentry_never=bool(node.reentry and node.reentry.never),
        repeat_yearly=node.repeat_yearly,
        steps=_steps(checked, node.steps, "s"),
    )


def _steps(checked: Checked, steps, prefix: str) -> list:
    out = []
    for index, node in enumerate(steps, 1):
        step = f"{prefix}{index}"
        if isinstance(node, s.Wait):
            out.append(p.WaitStep(step=step, duration=duration(node.duration)))
        elif isinstance(node, s.WaitEvent):
            out.append(
                p.WaitEventStep(
                    step=step,
                    event=node.event.dotted,
                    where=checked.expr(node.where),
                    timeout=duration(node.timeout) if node.timeout else None,
                    on_timeout=_steps(checked, node.on_timeout, f"{step}t"),
                )
            )
        elif isinstance(node, s.If):
            out.append(
                p.IfStep(
                    step=step,
                    condition=checked.expr(node.condition),
                    then=_steps(checked, node.then, f"{step}y"),
                    otherwise=_steps(checked, node.otherwise, f"{step}n"),
                )
            )
        elif isinstance(node, s.Exit):
            out.append(p.ExitStep(step=step))
        else:
            out.append(_action(checked, node, step))
    return out
