"""The changes a lead goes through, each on a row locked by the caller, with its ledger entry.

Every change bumps `lead.version` (except reminders, which leave the lead where it is), writes
one `lead_history` row under the workflow action's idempotency key and one audit entry naming
the rule, all in the caller's transaction: `applied(key)` is then exactly "this action already
happened". Times are the workflow's (`Act.at`), so deadlines chain without drift. Reminders and
escalations are in-app tasks (`task` rows with `lead_id`) for the recipient; they are closed
when the owner makes contact or the lead moves on. Recipients resolve to user names where a
profile names one (`owner`, `manager`), else to an address the console routes (`team:<name>`,
`role:<name>`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dsl.plan import Recipient
from services.leads_clock import Timing, ownership_end
from services.leads_rules import holds, lead_record
from store import audit
from store.sales import LeadHistory, RmProfile
from store.work import Lead, Task

TASK_KINDS = {"reminded": "lead_reminder", "escalated": "lead_escalation"}
HOLDING = ("assigned", "reassigned", "claimed")  # ledger actions that give a lead an owner
SYSTEM = "system"  # the actor of what a rule does on its own


@dataclass(frozen=True)
class Act:
    """One change's idempotency key, who makes it and when (the workflow's time)."""

    key: str
    actor: str
    at: dt.datetime


def lock(session: Session, lead_id: str) -> Lead | None:
    """The lead row, locked for this transaction (every decision re-reads it under the lock)."""
    return session.get(Lead, lead_id, with_for_update=True)


def applied(session: Session, key: str) -> bool:
    """Whether the workflow action with this idempotency key already changed the lead."""
    found = session.scalar(sa.select(LeadHistory.id).where(LeadHistory.idempotency_key == key))
    return found is not None


def cycle_owners(session: Session, lead: Lead) -> set[str]:
    """Everyone who held the lead since it last left the pool (reassignment skips them)."""
    rows = session.scalars(
        sa.select(LeadHistory.to_owner).where(
            LeadHistory.lead_id == lead.id,
            LeadHistory.cycle == lead.cycle,
            LeadHistory.action.in_(HOLDING),
        )
    )
    return {name for name in rows if name}


def record(
    session: Session, lead: Lead, action: str, act: Act, *, source: str | None = None,
    to: str | None = None, reason: str | None = None,
) -> None:  # fmt: skip
    """The ledger row and the audit entry of one change."""
    reason = reason[:64] if reason else None
    session.add(LeadHistory(idempotency_key=act.key, lead_id=lead.id, action=action,
                            from_owner=source, to_owner=to, actor=act.actor, reason=reason,
                            cycle=lead.cycle, occurred_at=act.at))  # fmt: skip
    detail = {"from": source, "to": to, "reason": reason, "at": act.at.isoformat()}
    audit.append(session, actor=act.actor, action=f"lead.{action}", subject_type="lead",
                 subject_id=lead.id, ruleset=lead.ruleset, ruleset_version=lead.ruleset_version,
                 rule=lead.rule, detail={**detail, "version": lead.version})  # fmt: skip


def give(
    session: Session, lead: Lead, owner: str, action: str, act: Act, timing: Timing,
    reason: str | None = None,
) -> None:  # fmt: skip
    """`owner` holds the lead from `act.at`: a new first-contact deadline and ownership window."""
    previous = lead.owner
    if previous:
        lead.previous_owner = previous
    if action == "reassigned":
        lead.reassignments += 1
    lead.owner, lead.assigned_at = owner, act.at
    lead.due_kind, lead.due_at = "first_contact", timing.add(act.at, timing.spec.first_contact)
    lead.ownership_ends_at = ownership_end(timing.spec, lead, act.at, timing.cal, timing.tz)
    lead.version += 1
    _settle_tasks(session, lead, "withdrawn", act.at)
    record(session, lead, action, act, source=previous, to=owner, reason=reason)


def to_pool(session: Session, lead: Lead, action: str, act: Act, reason: str | None) -> None:
    """Into the shared pool at `act.at`: no owner, no deadlines; the pool cycle ends."""
    previous = lead.owner
    record(session, lead, action, act, source=previous, reason=reason)  # in the ending cycle
    if previous:
        lead.previous_owner = previous
    lead.owner, lead.released_at, lead.assigned_at = None, act.at, None
    lead.due_kind = lead.due_at = lead.ownership_ends_at = None
    lead.cycle, lead.reassignments = lead.cycle + 1, 0
    lead.version += 1
    _settle_tasks(session, lead, "withdrawn", act.at)


def contact(session: Session, lead: Lead, act: Act, timing: Timing) -> None:
    """The owner made contact: the next follow-up falls due `follow_up every` from now."""
    spec = timing.spec
    lead.last_contacted_at = act.at
    if lead.status == "new":
        lead.status = "contacted"
    done = spec.follow_up_until is not None and holds(
        spec.follow_up_until, lead_record(lead), now=act.at, timezone=timing.tz
    )
    every = None if done else spec.follow_up_every
    lead.due_kind = "follow_up" if every else None
    lead.due_at = timing.add(act.at, every) if every else None
    lead.version += 1
    _settle_tasks(session, lead, "done", act.at)
    record(session, lead, "contacted", act, to=lead.owner)


def end_follow_up(session: Session, lead: Lead, act: Act) -> None:
    """The rule's `until` holds: no more follow-up deadlines for this lead."""
    lead.due_kind = lead.due_at = None
    lead.version += 1
    _settle_tasks(session, lead, "done", act.at)
    record(session, lead, "cadence_ended", act, reason="until holds")


def close(
    session: Session, lead: Lead, status: str, action: str, act: Act, reason: str | None
) -> None:
    """Won, lost or invalid: the lead's follow-up ends; the owner stays on record."""
    lead.status, lead.closed_at = status, act.at
    lead.due_kind = lead.due_at = lead.ownership_ends_at = None
    lead.version += 1
    _settle_tasks(session, lead, "done", act.at)
    record(session, lead, action, act, source=lead.owner, reason=reason or status)


def notify(
    session: Session, lead: Lead, action: str, recipient: Recipient | None, act: Act,
    workflow_id: str,
) -> str:  # fmt: skip
    """A reminder or escalation task about the missed deadline; the recipient's address."""
    to = resolve(session, lead, recipient)
    title = f"lead {lead.id}: {lead.due_kind or 'deadline'} overdue"
    session.add(Task(idempotency_key=act.key, kind=TASK_KINDS[action], title=title,
                     assignee=to, customer_id=lead.customer_id, lead_id=lead.id, status="open",
                     workflow_id=workflow_id, rule=lead.rule, ruleset=lead.ruleset,
                     ruleset_version=lead.ruleset_version, created_at=act.at))  # fmt: skip
    record(session, lead, action, act, reason=f"to {to}")
    return to


def resolve(session: Session, lead: Lead, recipient: Recipient | None) -> str:
    """Who a ladder recipient is for this lead (see the module docstring)."""
    team = f"team:{lead.team or 'unknown'}"
    kind, value = (recipient.kind, recipient.value) if recipient else ("field", "owner")
    if kind == "field" and value in ("owner", "lead.owner"):
        return lead.owner or team
    if kind == "field" and value == "manager":
        profile = session.get(RmProfile, lead.owner) if lead.owner else None
        return (profile.manager if profile else None) or team
    return f"{kind}:{value}" if kind in ("role", "team") else value


def _settle_tasks(session: Session, lead: Lead, status: str, at: dt.datetime) -> None:
    session.execute(
        sa.update(Task)
        .where(Task.lead_id == lead.id, Task.kind.in_(TASK_KINDS.values()), Task.status == "open")
        .values(status=status, completed_at=at)
    )
