"""The journeys events can reach: every active ruleset version's journeys, compiled once.

The event router matches each event in-process against these (DESIGN.md, scale rules: events
are filtered before they touch Temporal), so each journey's `event_where` is compiled to a
Python predicate once per plan version and kept while the version is active; `matcher` binds
it to a batch's clock. An event that lacks a field the condition reads, or holds it with the
wrong type, does not match (it is never an error for the whole batch).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dsl.plan_ops import Plan
from dsl.pyeval import Predicate, compile_predicate
from runtime.contracts import RuleRef
from store.registry import Ruleset, RulesetVersion, VersionStatus
from workflows.journey_types import listened_events


@dataclass(frozen=True)
class ActiveJourney:
    rule: RuleRef
    input: dict[str, Any]  # JourneyInput fields but the customer and event
    event: str
    where: Predicate | None
    listens: frozenset[str]
    reentry_never: bool


_COMPILED: dict[tuple[str, int, str], list[ActiveJourney]] = {}


def active_journeys(session: Session) -> list[ActiveJourney]:
    """The journeys of every active ruleset version, compiled once per version."""
    rows = session.execute(
        sa.select(Ruleset.name, RulesetVersion.version, RulesetVersion.plan_hash, RulesetVersion.id)
        .join(Ruleset, Ruleset.id == RulesetVersion.ruleset_id)
        .where(RulesetVersion.status == VersionStatus.ACTIVE)
        .order_by(Ruleset.name)
    ).all()
    found = []
    for name, version, plan_hash, version_id in rows:
        key = (name, version, plan_hash or "")
        if key not in _COMPILED:
            data = session.scalar(
                sa.select(RulesetVersion.plan).where(RulesetVersion.id == version_id)
            )
            if len(_COMPILED) > 256:  # retired versions drop out; keep the cache small
                _COMPILED.clear()
            _COMPILED[key] = _compile(Plan.model_validate(data), version) if data else []
        found.extend(_COMPILED[key])
    return found


def _compile(plan: Plan, version: int) -> list[ActiveJourney]:
    return [
        ActiveJourney(
            rule=RuleRef(
                ruleset=plan.ruleset,
                version=version,
                plan_hash=plan.hash,
                rule=j.name,
                category=j.category,
            ),
            input={"journey": j, "timezone": plan.timezone, "calendar": plan.calendar},
            event=j.event,
            where=compile_predicate(j.event_where) if j.event_where is not None else None,
            listens=listened_events(j),
            reentry_never=j.reentry_never,
        )
        for j in plan.journeys
    ]


def matcher(journey: ActiveJourney, now: dt.datetime) -> Callable[[dict], bool]:
    """The journey's entry condition over an event record, at `now`."""
    if journey.where is None:
        return lambda record: True
    today = now.astimezone(ZoneInfo(journey.input["timezone"])).date()
    check = journey.where.bind(now, today)

    def matches(record: dict) -> bool:
        try:
            return bool(check(record))
        except (TypeError, KeyError, ValueError, ArithmeticError):
            return False  # an event without the field (or with the wrong type) does not match

    return matches
