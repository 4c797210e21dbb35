"""Tickets: opening them (and pinning their SLA), queues, and actions, on the database side.

`open_ticket` inserts the row, finds the first SLA that applies (`services.tickets_match`) and
returns the `TicketSLAInput` the caller starts the workflow with after the commit; opening the
same id again with the same content is the same ticket (and rebuilds the input, so a start that
failed is retried). Actions on a ticket with an SLA go to its workflow
(`services.tickets_temporal`), which records them; a ticket no SLA applies to is changed here by
the same rules (`workflows.ticket_sla_rules`) and audited the same way.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from dsl.plan_ops import Plan
from runtime.contracts import ticket_workflow_id
from services import tickets_match
from services.actor import Actor
from services.errors import ConflictError, InvalidError, NotFoundError
from store import audit
from store.registry import Ruleset, RulesetVersion
from store.user import Role, User
from store.work import Ticket
from workflows import ticket_sla_rules as rules
from workflows.ticket_sla_types import TicketAction, TicketFields, TicketSLAInput

REOPEN_WINDOW = dt.timedelta(days=30)  # a resolved ticket not reopened for this long closes
APPROVER_ROLES = (Role.SERVICE_DESK, Role.COMPLIANCE, Role.ADMIN)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_SAME = (
    "category",
    "priority",
    "channel",
    "team",
    "subject",
    "customer_id",
    "branch",
    "named_employee",
    "regulatory",
)


class NewTicket(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, pattern=_ID.pattern, description="default: generated")
    category: str = Field(min_length=1, max_length=32)
    priority: str = Field(default="normal", min_length=1, max_length=16)
    channel: str = Field(default="phone", min_length=1, max_length=16)
    team: str = Field(min_length=1, max_length=64)
    subject: str = Field(min_length=1, max_length=200)
    customer_id: str | None = Field(default=None, max_length=32)
    branch: str | None = Field(default=None, max_length=32)
    assignee: str | None = Field(default=None, max_length=64)
    named_employee: str | None = Field(default=None, max_length=64)
    regulatory: bool = False
    reported_at: AwareDatetime | None = None  # when the customer really complained


def fields_of(ticket: Ticket) -> TicketFields:
    """The rule-visible fields of a ticket row."""
    return TicketFields(
        id=ticket.id,
        category=ticket.category,
        priority=ticket.priority,
        status=ticket.status,
        channel=ticket.channel,
        team=ticket.team,
        assignee=ticket.assignee,
        assigned_role=ticket.assigned_role,
        named_employee=ticket.named_employee,
        regulatory=ticket.regulatory,
        opened_at=ticket.opened_at,
        reported_at=ticket.reported_at,
    )


def get_ticket(session: Session, ticket_id: str) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFoundError(f"ticket {ticket_id!r} not found")
    return ticket


def open_ticket(
    session: Session, actor: Actor, new: NewTicket, now: dt.datetime
) -> tuple[Ticket, TicketSLAInput | None, bool]:
    """Insert (or find again) a ticket; (row, workflow input or None, created)."""
    if new.id is not None and (found := session.get(Ticket, new.id)) is not None:
        if any(getattr(found, name) != getattr(new, name) for name in _SAME):
            raise ConflictError(f"ticket {new.id!r} exists with other content")
        return found, sla_input(session, found), False
    if new.assignee and new.assignee == new.named_employee:
        raise InvalidError("the employee the ticket names may not handle it")
    if new.reported_at is not None and new.reported_at > now:
        raise InvalidError("reported_at lies in the future")
    ticket = Ticket(
        **new.model_dump(exclude={"id"}),
        status="new",
        opened_at=now,
        id=new.id or f"T{now:%Y%m%d}-{uuid.uuid4().hex[:10]}",
        created_by=actor.name,
    )
    session.add(ticket)
    found = tickets_match.match(session, fields_of(ticket), now)
    if found is not None:
        rule = found.rule()
        ticket.sla, ticket.ruleset, ticket.ruleset_version = rule.rule, rule.ruleset, rule.version
        ticket.plan_hash, ticket.workflow_id = rule.plan_hash, ticket_workflow_id(ticket.id)
        ticket.timezone = tickets_match.timezone_for(
            session, found.sla, ticket.branch, ticket.customer_id
        )
    session.flush()
    audit.append(
        session,
        actor=actor.name,
        action="ticket.created",
        subject_type="ticket",
        subject_id=ticket.id,
        ruleset=ticket.ruleset,
        ruleset_version=ticket.ruleset_version,
        rule=ticket.sla,
        detail={
            "category": ticket.category,
            "priority": ticket.priority,
            "team": ticket.team,
            "sla": ticket.sla,
            "timezone": ticket.timezone,
        },
    )
    return ticket, sla_input(session, ticket), True


def sla_input(session: Session, ticket: Ticket) -> TicketSLAInput | None:
    """The workflow input of a ticket's SLA, rebuilt from its row and pinned plan version."""
    if ticket.sla is None or ticket.ruleset is None or ticket.ruleset_version is None:
        return None
    version = session.scalar(
        sa.select(RulesetVersion)
        .join(Ruleset)
        .where(Ruleset.name == ticket.ruleset, RulesetVersion.version == ticket.ruleset_version)
    )
    if version is None:
        return None
    plan = Plan.model_validate(version.plan)
    sla = next((s for s in plan.slas if s.name == ticket.sla), None)
    if sla is None:
        return None
    match = tickets_match.Match(plan, version.version, sla)
    start = min(ticket.reported_at or ticket.opened_at, ticket.opened_at)
    zone = ticket.timezone or match.sla.timezone
    return TicketSLAInput(
        rule=match.rule(),
        sla=match.sla,
        ticket=fields_of(ticket),
        calendar=tickets_match.snapshot(session, match.sla, zone, start),
        reopen_window=REOPEN_WINDOW,
    )


def action_for(session: Session, actor: Actor, verb: str, body: dict[str, Any]) -> TicketAction:
    """The workflow action of an API call; checks the approver of an extension is a user."""
    if verb == "extend":
        approver = body.get("approver")
        user = session.scalar(sa.select(User).where(User.name == approver)) if approver else None
        if user is None or user.disabled or user.role not in APPROVER_ROLES:
            raise InvalidError(
                "an extension needs `approver`: an active service desk, compliance or admin user"
            )
    return TicketAction(
        action=verb,
        actor=actor.name,  # type: ignore[arg-type]
        **{k: v for k, v in body.items() if v is not None},
    )


def act_without_sla(session: Session, ticket: Ticket, action: TicketAction, now: dt.datetime):
    """Carry out an action on a ticket no SLA applies to (no clocks, same rules, audited)."""
    fields = fields_of(ticket)
    try:
        rules.check(action, fields)
    except rules.InvalidActionError as exc:
        raise ConflictError(str(exc), code=exc.code) from None
    if action.action == "extend":
        raise ConflictError("this ticket has no regulatory deadline", code="no_deadline")
    before = ticket.status
    rules.apply_fields(fields, action, list(rules.PRIORITY_ORDER))
    for name in ("status", "priority", "assignee", "assigned_role", "team"):
        setattr(ticket, name, getattr(fields, name))
    if action.action in ("acknowledge", "respond"):
        ticket.first_response_at = ticket.first_response_at or now
    if action.action in ("resolve", "reopen"):
        ticket.resolved_at = now if action.action == "resolve" else None
    audit.append(
        session,
        actor=action.actor,
        action=f"ticket.{action.action}",
        subject_type="ticket",
        subject_id=ticket.id,
        detail={
            "status_before": before,
            "status": ticket.status,
            "sla": None,
            "assignee": ticket.assignee,
            "priority": ticket.priority,
        },
    )
