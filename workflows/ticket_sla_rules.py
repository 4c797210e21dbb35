"""The service desk's ticket rules: which action is allowed in which status, what it changes,
priorities, escalation recipients, and the SLA's conditions over the ticket record.

Pure functions shared by the TicketSLA engine (tickets with an SLA) and `services.tickets`
(tickets no SLA matched), so both answer an action the same way. The employee a complaint
names never handles it: they may take no action on it, and no action or escalation assigns the
ticket to them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from dsl.expr import Expr
from dsl.plan import Recipient
from dsl.pyeval import Predicate, compile_predicate
from workflows.ticket_sla_types import Action, TicketAction, TicketFields

OPEN = ("new", "in_progress", "waiting_on_customer", "reopened")
STATUSES = (*OPEN, "resolved", "closed", "withdrawn")
PRIORITY_ORDER = ("low", "normal", "high", "urgent", "critical")
# action -> (statuses it may be taken in, the status it leads to; None: unchanged)
TRANSITIONS: dict[Action, tuple[tuple[str, ...], str | None]] = {
    "acknowledge": (("new", "reopened"), "in_progress"),
    "respond": (OPEN, "in_progress"),  # a reply while waiting on the customer keeps waiting
    "wait_on_customer": (("new", "in_progress", "reopened"), "waiting_on_customer"),
    "resume": (("waiting_on_customer",), "in_progress"),
    "resolve": (OPEN, "resolved"),
    "reopen": (("resolved",), "reopened"),
    "reassign": (OPEN, None),
    "escalate": (OPEN, None),
    "extend": (OPEN, None),
    "withdraw": (OPEN, "withdrawn"),
}
# Conditions a rule may leave out: a ticket stops when resolved or closed, cancels when withdrawn.
DEFAULT_STOP = ("resolved", "closed")
DEFAULT_CANCEL = ("withdrawn",)


class InvalidActionError(ValueError):
    """The action does not apply to the ticket as it is (the API answers 409)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def forbidden_handlers(ticket: TicketFields, never_assign: str | None) -> set[str]:
    """Employees who must not handle the ticket: the named employee, and the rule's field."""
    banned = {ticket.named_employee} if ticket.named_employee else set()
    if never_assign:
        value = ticket.record().get(never_assign)
        if isinstance(value, str) and value:
            banned.add(value)
    return banned


def check(
    action: TicketAction,
    ticket: TicketFields,
    never_assign: str | None = None,
    *,
    legacy_named_employee: bool = False,
) -> None:
    """Raise InvalidActionError unless `action` applies to `ticket` now.

    `legacy_named_employee` replays workflows from before the rule covered every action: then
    the named employee was only kept from being assigned (acknowledging unassigned, reassign).
    """
    allowed, _ = TRANSITIONS[action.action]
    if ticket.status not in allowed:
        raise InvalidActionError(
            "invalid_status", f"cannot {action.action} a ticket that is {ticket.status}"
        )
    banned = forbidden_handlers(ticket, never_assign)
    # Not only assignment: the employee a complaint names must not reply to, pause, extend,
    # hand away, withdraw or close the complaint about themselves either.
    if action.actor in banned and not legacy_named_employee:
        raise InvalidActionError(
            "named_employee", "the employee the ticket names may not act on it"
        )
    legacy_acknowledge = action.action == "acknowledge" and ticket.assignee is None
    if legacy_named_employee and legacy_acknowledge and action.actor in banned:
        raise InvalidActionError(
            "named_employee", "the employee the ticket names may not handle it"
        )
    if action.action == "reassign":
        if not (action.assignee or action.role or action.team):
            raise InvalidActionError("missing_target", "reassign needs an assignee, role or team")
        if action.assignee in banned:
            raise InvalidActionError(
                "named_employee", "the employee the ticket names may not handle it"
            )


def next_status(action: Action, status: str) -> str:
    """The status after `action` (which `check` allowed)."""
    target = TRANSITIONS[action][1]
    if target is None or (action == "respond" and status == "waiting_on_customer"):
        return status
    return target


def apply_fields(ticket: TicketFields, action: TicketAction, priorities: list[str]) -> str | None:
    """Change the ticket's fields for a checked action; the reassignment target, if any."""
    ticket.status = next_status(action.action, ticket.status)
    target = None
    if action.action == "acknowledge" and ticket.assignee is None:
        target = action.actor
    elif action.action == "reassign":
        target = action.assignee or (
            f"role:{action.role}" if action.role else f"team:{action.team}"
        )
    elif action.action == "escalate":
        ticket.priority = raised(ticket.priority, priorities, action.priority) or ticket.priority
    if target is not None:
        assign(ticket, target)
    return target


def rank(priority: str) -> int:
    return PRIORITY_ORDER.index(priority) if priority in PRIORITY_ORDER else 1


def raised(current: str, priorities: list[str], wanted: str | None = None) -> str | None:
    """The priority after a raise: `wanted` if higher, else the next higher one defined."""
    if wanted is not None:
        return wanted if rank(wanted) > rank(current) else None
    higher = sorted((p for p in priorities if rank(p) > rank(current)), key=rank)
    return higher[0] if higher else None


def recipient(to: Recipient, ticket: TicketFields) -> str:
    """Who an escalation addresses: a user name, or `role:x` / `team:x` / `manager:team`."""
    if to.kind == "field" and to.value in ("assignee", "ticket.assignee"):
        if ticket.assignee:
            return ticket.assignee
        return f"role:{ticket.assigned_role}" if ticket.assigned_role else f"team:{ticket.team}"
    if to.kind == "field":  # "manager": the ticket's team manager
        return f"manager:{ticket.team}"
    if to.kind in ("role", "team"):
        return f"{to.kind}:{to.value}"
    return to.value


def assign(ticket: TicketFields, target: str) -> None:
    """Hand the ticket to a person, or to a role's or team's queue (no person then)."""
    kind, _, value = target.partition(":")
    if kind == "team" and value:
        ticket.team, ticket.assignee, ticket.assigned_role = value, None, None
    elif kind in ("role", "manager") and value:
        ticket.assignee, ticket.assigned_role = None, target if kind == "manager" else value
    else:
        ticket.assignee, ticket.assigned_role = target, None


class Conditions:
    """An SLA's start/pause/resume/stop/reset/cancel conditions, compiled once."""

    def __init__(self, conditions: Mapping[str, Expr]) -> None:
        self._compiled: dict[str, Predicate] = {
            kind: compile_predicate(expr) for kind, expr in conditions.items()
        }

    def defined(self, kind: str) -> bool:
        return kind in self._compiled

    def holds(self, kind: str, ticket: TicketFields, now: dt.datetime, today: dt.date) -> bool:
        """Whether condition `kind` holds for `ticket` (the built-in default when not defined)."""
        predicate = self._compiled.get(kind)
        if predicate is not None:
            return bool(predicate.bind(now, today)(ticket.record()))
        if kind == "stop":
            return ticket.status in DEFAULT_STOP
        if kind == "cancel":
            return ticket.status in DEFAULT_CANCEL
        return kind == "start"  # no start condition: starts at once; no pause, no reset
