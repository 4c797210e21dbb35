"""Lower checked `sla` and `lead` blocks into their plan specs (dsl/plan_ops.py).

Defaults are decided here and nowhere else: an SLA without `hours` runs around the clock, an
SLA or lead without its own calendar uses the ruleset's, and SLA times default to the
ruleset's time zone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dsl import plan as p
from dsl import plan_ops as po
from dsl import syntax_ops as o

if TYPE_CHECKING:
    from dsl.checker import Checked


def duration(node) -> p.DurationSpec:
    """A checked duration as plan data (used by both compiler modules)."""
    return p.DurationSpec(amount=int(node.amount), unit=node.unit, business=node.business)


def recipient(node) -> p.Recipient | None:
    """A checked recipient as plan data; None stays None."""
    return p.Recipient(kind=node.kind, value=node.value) if node is not None else None


def compile_sla(checked: Checked, node: o.Sla) -> po.SlaSpec:
    """One SLA block as a TicketSLA workflow's policy."""
    hours = node.hours
    if hours is None or hours.around_the_clock:
        hours_spec = po.HoursSpec(around_the_clock=True)
    else:
        hours_spec = po.HoursSpec(start=f"{hours.start:%H:%M}", end=f"{hours.end:%H:%M}")
    deadline = None
    if node.deadline is not None:
        deadline = po.DeadlineSpec(
            duration=duration(node.deadline.duration),
            extensions=[(ext.mode, duration(ext.duration)) for ext in node.deadline.extensions],
        )
    return po.SlaSpec(
        name=node.name.value,
        applies_to=checked.expr(node.applies_to.where),
        hours=hours_spec,
        calendar=node.calendar.value if node.calendar else checked.calendar,
        timezone=node.timezone.value if node.timezone else checked.timezone,
        timezone_from=node.timezone_from.value if node.timezone_from else "fixed",
        start_from=node.start_from.dotted if node.start_from else None,
        targets={
            target.priority.value: {c.clock.value: duration(c.duration) for c in target.clocks}
            for target in node.targets
        },
        deadline=deadline,
        never_assign=node.never_assign.dotted if node.never_assign else None,
        conditions={c.kind: checked.expr(c.expr) for c in node.conditions},
        escalations=[
            po.EscalationSpec(
                trigger=e.trigger,
                clock=e.clock.value,
                percent=e.percent,
                after=duration(e.after) if e.after else None,
                action=e.action,
                recipient=recipient(e.recipient),
                template=e.template.value if e.template else None,
                priority=e.priority.value if e.priority else None,
            )
            for e in node.escalations
        ],
    )


def _ladder(node: o.LadderAction | None) -> po.LadderActionSpec | None:
    if node is None:
        return None
    return po.LadderActionSpec(
        kind=node.kind,
        recipient=recipient(node.recipient),
        limit=node.limit,
        then_pool=node.then_pool,
    )


def _pool(rules: list[o.PoolRule]) -> po.PoolSpec:
    keep, release, cooldown, claims, hold = {}, [], None, None, None
    for rule in rules:
        if rule.kind == "keep_level":
            keep[rule.number] = duration(rule.duration)
        elif rule.kind == "release_after":
            release.append((rule.field.dotted, duration(rule.duration)))
        elif rule.kind == "cooldown":
            cooldown = duration(rule.duration)
        elif rule.kind == "claim_limit":
            claims = rule.number
        else:
            hold = rule.number
    return po.PoolSpec(
        keep_by_level=keep,
        release_after=release,
        cooldown=cooldown,
        claims_per_day=claims,
        hold_at_most=hold,
    )


def compile_lead(checked: Checked, node: o.Lead) -> po.LeadSpec:
    """One lead block as a LeadFollowUp workflow's policy."""
    follow = node.follow_up
    return po.LeadSpec(
        name=node.name.value,
        applies_to=checked.expr(node.applies_to.where),
        strategy=node.assign.strategy.value,
        team=node.assign.team.value,
        partition_by=node.assign.by.dotted if node.assign.by else None,
        capacity=node.capacity,
        calendar=node.calendar.value if node.calendar else checked.calendar,
        first_contact=duration(node.first_contact.within),
        first_contact_otherwise=_ladder(node.first_contact.otherwise),
        follow_up_every=duration(follow.every) if follow else None,
        follow_up_until=checked.expr(follow.until) if follow else None,
        overdue=[
            po.LadderStepSpec(after=duration(step.after), action=_ladder(step.action))
            for step in node.overdue
        ],
        pool=_pool(node.pool),
    )
