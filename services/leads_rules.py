"""Which lead rule runs a lead: matching a new lead against the active plans, and the pinned rule.

A new lead is matched against the `lead` rules of every active ruleset version, rulesets by name
and rules in plan order; the first whose `applies to` holds on the lead's record runs it. Once
matched, the lead is pinned to that version (`lead.ruleset`, `ruleset_version`, `rule`), like
its workflow: `rule_of` reads that version's plan again (cached: a submitted version never
changes), so the API checks an action with the very rule the workflow enforces. Conditions
read `lead.*` fields only; one that cannot be evaluated is false, never an error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from dsl.expr import Expr
from dsl.plan_ops import LeadSpec, Plan
from dsl.pyeval import compile_predicate
from dsl.schema import LEAD_FIELDS
from runtime.contracts import RuleRef
from services.errors import NotFoundError
from store.registry import Ruleset, RulesetVersion, VersionStatus
from store.work import Lead

_PLANS: dict[tuple[str, int, str], Plan] = {}


@dataclass(frozen=True)
class LeadRule:
    rule: RuleRef
    spec: LeadSpec
    timezone: str


def lead_record(lead: Lead) -> dict[str, Any]:
    """The `lead.*` fields rules read, from the row."""
    return {path: getattr(lead, path.removeprefix("lead.")) for path in LEAD_FIELDS}


@lru_cache(maxsize=256)
def _predicate(expr_json: str) -> Any:
    return compile_predicate(TypeAdapter(Expr).validate_json(expr_json))


def holds(expr: Expr, record: dict[str, Any], *, now: dt.datetime, timezone: str) -> bool:
    """Whether `expr` holds on `record` at `now`; false when it cannot be evaluated."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    bound = _predicate(expr.model_dump_json()).bind(now, today)  # type: ignore[union-attr]
    try:
        return bool(bound(record))
    except (TypeError, KeyError, ValueError, ArithmeticError, AttributeError):
        return False


def _rules(plan: Plan, version: int) -> list[LeadRule]:
    return [
        LeadRule(
            RuleRef(ruleset=plan.ruleset, version=version, plan_hash=plan.hash, rule=spec.name),
            spec,
            plan.timezone,
        )
        for spec in plan.leads
    ]


def _plan(session: Session, ruleset: str, version: int) -> Plan | None:
    version_of = (
        sa.select(RulesetVersion.id, RulesetVersion.plan_hash)
        .join(Ruleset)
        .where(Ruleset.name == ruleset, RulesetVersion.version == version)
    )
    found = session.execute(version_of).first()
    if found is None:
        return None
    # Keyed by the hash too: a database rebuilt with other rules reuses names and numbers.
    key = (ruleset, version, found.plan_hash or "")
    if key not in _PLANS:
        data = session.scalar(sa.select(RulesetVersion.plan).where(RulesetVersion.id == found.id))
        if data is None:
            return None
        if len(_PLANS) > 256:  # old versions drop out; keep the cache small
            _PLANS.clear()
        _PLANS[key] = Plan.model_validate(data)
    return _PLANS[key]


def active_rules(session: Session) -> list[LeadRule]:
    """The lead rules of every active version, in matching order."""
    rows = session.execute(
        sa.select(Ruleset.name, RulesetVersion.version)
        .join(Ruleset)
        .where(RulesetVersion.status == VersionStatus.ACTIVE)
        .order_by(Ruleset.name)
    ).all()
    found: list[LeadRule] = []
    for name, version in rows:
        plan = _plan(session, name, version)
        found.extend(_rules(plan, version) if plan else [])
    return found


def match(session: Session, lead: Lead, now: dt.datetime) -> LeadRule | None:
    """The first active rule whose `applies to` holds on `lead`, if any."""
    record = lead_record(lead)
    for rule in active_rules(session):
        if holds(rule.spec.applies_to, record, now=now, timezone=rule.timezone):
            return rule
    return None


def rule_of(session: Session, lead: Lead) -> LeadRule:
    """The rule the lead is pinned to; NotFoundError if its version is gone."""
    plan = None
    if lead.ruleset and lead.ruleset_version is not None:
        plan = _plan(session, lead.ruleset, lead.ruleset_version)
    for rule in _rules(plan, lead.ruleset_version or 0) if plan else []:
        if rule.spec.name == lead.rule:
            return rule
    raise NotFoundError(f"lead {lead.id} has no lead rule ({lead.ruleset} {lead.rule})")
