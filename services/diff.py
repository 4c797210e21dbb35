"""What changed between two versions of a ruleset: the text, the rules, and who they reach.

Compliance reviews a version against the one it replaces, so the answer has three layers: the
unified diff of the rule text (what the author typed), a semantic diff of the compiled plans
(which rules were added, removed or changed, and which parts of each: formatting-only edits
show up in the text diff but not here), and for every campaign whose audience changed, how many
customers it selects before and after. The counts run the compiled predicate in the database
(`SELECT count(*)` over the customer table), never loading customers into Python; each plan is
evaluated at the same instant, with "today" taken in that plan's own time zone.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dsl.plan_ops import Plan
from services.registry import get_version
from store.audience import campaign_clause
from store.customer import Customer

# Rule kind -> (plan attribute, part name -> spec fields). A field not listed here is reported
# under its own name, so a future spec field never changes silently.
RULE_KINDS: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    "campaign": ("campaigns", {
        "audience": ("audience", "segment"), "schedule": ("schedule",),
        "actions": ("actions",), "caps": ("caps",), "policy": ("policy",),
        "category": ("category",), "reentry": ("reentry_after", "reentry_never"),
    }),
    "journey": ("journeys", {
        "trigger": ("event", "event_where"), "entry": ("entry",), "exits": ("exits",),
        "steps": ("steps",), "caps": ("caps",), "policy": ("policy",),
        "category": ("category",), "reentry": ("reentry_after", "reentry_never", "repeat_yearly"),
    }),
    "sla": ("slas", {
        "applies_to": ("applies_to",), "hours": ("hours",),
        "calendar": ("calendar", "timezone", "timezone_from"), "targets": ("targets",),
        "conditions": ("conditions",), "escalations": ("escalations",),
        "deadline": ("deadline",),
    }),
    "lead": ("leads", {
        "applies_to": ("applies_to",),
        "assignment": ("strategy", "team", "partition_by", "capacity"),
        "deadlines": ("calendar", "first_contact", "first_contact_otherwise",
                      "follow_up_every", "follow_up_until"),
        "overdue": ("overdue",), "pool": ("pool",),
    }),
}  # fmt: skip
_RULE_LISTS = {"campaigns", "journeys", "slas", "leads", "hash"}


def _rules(plan: Plan, attribute: str) -> dict[str, dict[str, Any]]:
    return {rule.name: rule.model_dump(mode="json") for rule in getattr(plan, attribute)}


def _changed_parts(old: dict[str, Any], new: dict[str, Any], parts: dict) -> list[str]:
    part_of = {field: part for part, fields in parts.items() for field in fields}
    changed = {
        part_of.get(key, key)
        for key in old.keys() | new.keys()
        if key != "name" and old.get(key) != new.get(key)
    }
    order = list(parts)
    return sorted(changed, key=lambda p: (order.index(p) if p in order else len(order), p))


def semantic_diff(before: Plan, after: Plan) -> dict[str, Any]:
    """Rules added, removed and changed (with the parts that changed) from `before` to `after`."""
    old_top = before.model_dump(mode="json", exclude=_RULE_LISTS)
    new_top = after.model_dump(mode="json", exclude=_RULE_LISTS)
    result: dict[str, Any] = {
        "ruleset": sorted(k for k in old_top.keys() | new_top.keys()
                          if old_top.get(k) != new_top.get(k)),
        "added": [], "removed": [], "changed": [],
    }  # fmt: skip
    for kind, (attribute, parts) in RULE_KINDS.items():
        old, new = _rules(before, attribute), _rules(after, attribute)
        result["added"] += [{"kind": kind, "name": n} for n in new if n not in old]
        result["removed"] += [{"kind": kind, "name": n} for n in old if n not in new]
        for name in (n for n in new if n in old and old[n] != new[n]):
            changed = _changed_parts(old[name], new[name], parts)
            result["changed"].append({"kind": kind, "name": name, "parts": changed})
    return result


def audience_changes(before: Plan, after: Plan) -> list[str]:
    """Campaigns whose audience predicate was added, removed or changed, in plan order."""
    old = {c.name: c.audience for c in before.campaigns}
    new = {c.name: c.audience for c in after.campaigns}
    names = [*new, *(n for n in old if n not in new)]
    return [n for n in names if old.get(n) != new.get(n)]


def audience_size(session: Session, plan: Plan, campaign: str, now: datetime) -> int | None:
    """How many customers `campaign` of `plan` selects at `now`; None if the plan lacks it."""
    spec = next((c for c in plan.campaigns if c.name == campaign), None)
    if spec is None:
        return None
    clause = campaign_clause(spec, plan.timezone, now)
    customer = Customer.__table__
    return session.scalar(sa.select(sa.func.count()).select_from(customer).where(clause))


def text_diff(before: str, after: str, before_name: str, after_name: str) -> str:
    """The unified diff of two rule texts, every line newline-terminated."""
    old = [line if line.endswith("\n") else line + "\n" for line in before.splitlines(True)]
    new = [line if line.endswith("\n") else line + "\n" for line in after.splitlines(True)]
    return "".join(difflib.unified_diff(old, new, before_name, after_name))


def diff_versions(
    session: Session, name: str, n: int, m: int, *, now: datetime | None = None
) -> dict[str, Any]:
    """Version `n` of ruleset `name` against version `m`: `m` is the baseline, `n` the change."""
    now = now or datetime.now(UTC)
    base, head = get_version(session, name, m), get_version(session, name, n)
    result: dict[str, Any] = {
        "ruleset": name, "version": n, "against": m,
        "plan_hash": {"before": base.plan_hash, "after": head.plan_hash},
        "text_diff": text_diff(base.source, head.source, f"{name} v{m}", f"{name} v{n}"),
        "semantic": None, "audiences": [],
    }  # fmt: skip
    if base.plan is None or head.plan is None:
        return result  # a draft that never compiled has only text to compare
    before, after = Plan.model_validate(base.plan), Plan.model_validate(head.plan)
    result["semantic"] = semantic_diff(before, after)
    result["audiences"] = [
        _sizes(session, before, after, c, now) for c in audience_changes(before, after)
    ]
    return result


def _sizes(session: Session, before: Plan, after: Plan, campaign: str, now: datetime) -> dict:
    try:
        sizes = [audience_size(session, plan, campaign, now) for plan in (before, after)]
    except ValueError as exc:
        # A predicate the SQL backend cannot translate must not hide the rest of the diff.
        return {"campaign": campaign, "before": None, "after": None, "error": str(exc)}
    return {"campaign": campaign, "before": sizes[0], "after": sizes[1]}
