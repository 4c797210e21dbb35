"""Leads as people see them: creation, the lists each role may read, and checks before actions.

Access rules live inside the queries (`visible`), not only in the routes: a sales user reads
their own leads, the pool of their team, and (read-only) the leads of members who report to
them; compliance and administrators read every lead. A lead another RM holds is "not found"
for a sales user, so its existence does not leak. A new lead is matched against the active
lead rules (`services.leads_rules`) and refused (422) when none applies, so every stored lead
has a follow-up; creating the same id twice with the same fields is the same lead (a retried
request), with other fields a conflict. `services.leads_control` does the Temporal side.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services import leads_ops as ops
from services.actor import Actor
from services.errors import ConflictError, InvalidError, NotFoundError
from services.leads_clock import OPEN, Timing, calendar_for
from services.leads_pool import LeadRefusedError, refusal
from services.leads_rules import LeadRule, match, rule_of
from store.sales import LeadHistory, RmProfile
from store.user import Role
from store.work import Lead

Scope = Literal["mine", "team", "pool", "all"]
FIELDS = (
    "customer_id",
    "name",
    "source",
    "kind",
    "region",
    "product",
    "expected_value",
    "customer_level",
    "contract_end_on",
)
IN_POOL = sa.and_(Lead.owner.is_(None), Lead.status.in_(OPEN), Lead.released_at.is_not(None))


def _reports(actor: Actor) -> sa.Select:
    return sa.select(RmProfile.user_name).where(RmProfile.manager == actor.name)


def visible(actor: Actor) -> sa.ColumnElement[bool]:
    """The leads `actor` may read, as a WHERE clause."""
    if actor.role in (Role.ADMIN, Role.COMPLIANCE):
        return sa.true()
    if actor.role != Role.SALES:
        return sa.false()
    team = sa.select(RmProfile.team).where(RmProfile.user_name == actor.name).scalar_subquery()
    return sa.or_(
        Lead.owner == actor.name,
        sa.and_(IN_POOL, Lead.team == team),
        Lead.owner.in_(_reports(actor)),
    )


def create_lead(
    session: Session, actor: Actor, fields: dict[str, Any], now: dt.datetime
) -> tuple[Lead, LeadRule, bool]:
    """Store a new lead pinned to the first rule that applies: (lead, rule, created)."""
    lead_id = fields.get("id") or f"L{uuid.uuid4().hex[:16].upper()}"
    values = {key: fields.get(key) for key in FIELDS}
    existing = session.get(Lead, lead_id)
    if existing is not None:
        if any(getattr(existing, key) != value for key, value in values.items()):
            raise ConflictError(f"lead {lead_id} already exists with other details")
        return existing, rule_of(session, existing), False
    lead = Lead(id=lead_id, status="new", created_at=now, updated_at=now, **values)
    rule = match(session, lead, now)
    if rule is None:
        raise InvalidError(
            f"no active lead rule applies to a lead of source {lead.source!r} and kind "
            f"{lead.kind!r}; a lead needs a rule to be assigned and followed up"
        )
    lead.team, lead.rule = rule.spec.team, rule.spec.name
    lead.ruleset, lead.ruleset_version = rule.rule.ruleset, rule.rule.version
    session.add(lead)
    session.flush()
    act = ops.Act(f"lead:{lead_id}|created", actor.name, now)
    ops.record(session, lead, "created", act, reason=rule.spec.name)
    return lead, rule, True


def list_leads(
    session: Session,
    actor: Actor,
    scope: Scope,
    *,
    status: str | None = None,
    team: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Lead]:
    """A page of the leads `actor` may read in `scope`, newest first."""
    query = sa.select(Lead).where(visible(actor))
    if scope == "mine":
        query = query.where(Lead.owner == actor.name)
    elif scope == "pool":
        query = query.where(IN_POOL)
    elif scope == "team":
        owners = _reports(actor) if actor.role == Role.SALES else None
        query = query.where(Lead.owner.is_not(None))
        if owners is not None:
            query = query.where(sa.or_(Lead.owner.in_(owners), Lead.owner == actor.name))
    if status is not None:
        query = query.where(Lead.status == status)
    if team is not None:
        query = query.where(Lead.team == team)
    query = query.order_by(Lead.created_at.desc(), Lead.id).limit(limit).offset(offset)
    return list(session.scalars(query))


def get_lead(session: Session, actor: Actor, lead_id: str) -> Lead:
    """The lead, if `actor` may read it; NotFoundError otherwise."""
    lead = session.scalar(sa.select(Lead).where(Lead.id == lead_id, visible(actor)))
    if lead is None:
        raise NotFoundError(f"lead {lead_id} not found")
    return lead


def history(session: Session, lead: Lead, limit: int = 100) -> list[LeadHistory]:
    """The lead's ledger, oldest first (the most recent `limit` entries)."""
    rows = session.scalars(
        sa.select(LeadHistory)
        .where(LeadHistory.lead_id == lead.id)
        .order_by(LeadHistory.occurred_at.desc(), LeadHistory.id.desc())
        .limit(limit)
    )
    return list(reversed(list(rows)))


def check_action(
    session: Session, actor: Actor, lead: Lead, action: str, now: dt.datetime
) -> LeadRule:
    """Refuse early what the workflow's activity would refuse; the lead's rule otherwise."""
    rule = rule_of(session, lead)
    spec = rule.spec
    timing = Timing(spec, calendar_for(spec, session), rule.timezone)
    found = refusal(session, lead, action, actor.name, actor.role.value, at=now, timing=timing)
    if found is not None:
        raise LeadRefusedError(
            found.detail, code=found.code, status=found.status, until=found.until
        )
    return rule
