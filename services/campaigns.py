"""Campaigns of the active ruleset versions: lookup, audiences, and what Temporal should run.

A campaign is addressed as `ruleset.campaign` and exists while a version that declares it is
active. This module does the database side: it finds campaigns, counts and samples their
audience with the compiled SQL predicate (never loading customers into Python; the sample is
customer ids only, no names or contact data), lists the active plans that schedules reconcile
against (`sync_schedules`), and writes the audit entry of every control action.
`services.campaign_control` does the Temporal side.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from dsl.plan import CampaignSpec
from dsl.plan_ops import Plan
from runtime import schedules
from runtime.contracts import RuleRef, schedule_id
from services.actor import Actor
from services.errors import NotFoundError
from store import audit
from store.audience import campaign_clause
from store.customer import Customer
from store.registry import Ruleset, RulesetVersion, VersionStatus
from store.session import session_scope

CAMPAIGN_ID = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class ActiveCampaign:
    plan: Plan
    version: int
    spec: CampaignSpec

    @property
    def id(self) -> str:
        return f"{self.plan.ruleset}.{self.spec.name}"

    @property
    def schedule_id(self) -> str:
        return schedule_id(self.plan.ruleset, self.spec.name)

    def rule(self) -> RuleRef:
        return RuleRef(ruleset=self.plan.ruleset, version=self.version, plan_hash=self.plan.hash,
                       rule=self.spec.name, category=self.spec.category)  # fmt: skip


def active_plans(session: Session, rulesets: set[str] | None = None) -> list[tuple[Plan, int]]:
    """(plan, version number) of every active version, by ruleset name."""
    query = (
        sa.select(RulesetVersion.plan, RulesetVersion.version)
        .join(Ruleset)
        .where(RulesetVersion.status == VersionStatus.ACTIVE)
        .order_by(Ruleset.name)
    )
    if rulesets is not None:
        query = query.where(Ruleset.name.in_(rulesets))
    return [(Plan.model_validate(plan), number) for plan, number in session.execute(query)]


def former_schedule_ids(session: Session, rulesets: set[str] | None = None) -> set[str]:
    """Schedule ids of campaigns a retired (once active) version of `rulesets` declared."""
    query = sa.select(RulesetVersion.plan).join(Ruleset)
    query = query.where(RulesetVersion.status == VersionStatus.RETIRED)
    if rulesets is not None:
        query = query.where(Ruleset.name.in_(rulesets))
    return {
        schedule_id(plan["ruleset"], c["name"])
        for plan in session.scalars(query)
        for c in plan.get("campaigns", [])
        if c.get("schedule")
    }


def list_campaigns(session: Session) -> list[ActiveCampaign]:
    """Every campaign of every active version, ordered by id."""
    found = [ActiveCampaign(p, v, c) for p, v in active_plans(session) for c in p.campaigns]
    return sorted(found, key=lambda c: c.id)


def get_campaign(session: Session, campaign_id: str) -> ActiveCampaign:
    """The active campaign `ruleset.campaign`; NotFoundError when no active version has it."""
    match = CAMPAIGN_ID.match(campaign_id)
    if match is None:
        raise NotFoundError(f"{campaign_id!r} is not a campaign id (ruleset.campaign)")
    ruleset, name = match.groups()
    for plan, version in active_plans(session, {ruleset}):
        for spec in plan.campaigns:
            if spec.name == name:
                return ActiveCampaign(plan, version, spec)
    raise NotFoundError(f"no active version of ruleset {ruleset!r} has campaign {name!r}")


def audience(session: Session, campaign: ActiveCampaign, now: datetime, sample: int) -> dict:
    """How many customers the campaign selects at `now`, and the first `sample` ids."""
    clause = campaign_clause(campaign.spec, campaign.plan.timezone, now)
    customer = Customer.__table__
    count = session.scalar(sa.select(sa.func.count()).select_from(customer).where(clause))
    ids = session.scalars(
        sa.select(customer.c.id).where(clause).order_by(customer.c.id).limit(sample)
    )
    # Contact rules (consent, quiet hours, caps) are decided at send time, not here.
    return {"count": count, "sample": list(ids), "as_of": now, "timezone": campaign.plan.timezone}


def record(
    session: Session, actor: Actor, action: str, campaign: ActiveCampaign, **detail: Any
) -> None:
    """Append the audit entry of a control action (`campaign.<action>`)."""
    audit.append(
        session,
        actor=actor.name,
        action=f"campaign.{action}",
        subject_type="campaign",
        subject_id=campaign.id,
        ruleset=campaign.plan.ruleset,
        ruleset_version=campaign.version,
        rule=campaign.spec.name,
        detail={"plan_hash": campaign.plan.hash, **detail},
    )


async def sync_schedules(
    client: Client, factory: sessionmaker[Session], settings, rulesets: set[str] | None = None
) -> schedules.Report:
    """Reconcile the schedules of `rulesets` (all when None) with their active versions."""

    def load() -> tuple[list[tuple[Plan, int]], set[str]]:
        with session_scope(factory) as session:
            plans = active_plans(session, rulesets)
            return plans, former_schedule_ids(session, rulesets)

    plans, former = await asyncio.to_thread(load)  # keep the event loop free of database I/O
    return await schedules.reconcile(
        client,
        plans,
        task_queue=settings.temporal.task_queue,
        catchup_s=settings.temporal.catchup_window_s,
        scope=rulesets,
        candidates=former,
    )
