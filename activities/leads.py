"""The activities of a lead's follow-up: assign it, take a deadline's step, apply a person's action.

Registered under the names in `workflows.lead_types`. Each runs one transaction on the lead row
locked `FOR UPDATE`: it skips the change when the ledger already holds the request's
idempotency key (a retried attempt), decides on the row as it is now (a timer for an older
`version` of the lead is stale and changes nothing), applies the change through
`services.leads_ops`, and answers the lead's state computed from the row. Refused actions raise
a non-retryable `LeadActionRefused` error whose details say why (`services.leads_pool`).
Built once per worker as `LeadActivities(session_factory, deliverer, settings)`; the deliverer
is unused (reminders are in-app tasks) but keeps the worker's constructor convention. Sync
activities: the worker runs them in its thread pool.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from calendars import BusinessCalendar
from runtime.contracts import LEAD_REFUSED, LeadState, lead_workflow_id
from services import leads_ops as ops
from services.leads_assign import pick_owner
from services.leads_clock import Timing, calendar_for, stage_of, state_of
from services.leads_ops import SYSTEM, Act
from services.leads_pool import refusal
from services.leads_rules import holds, lead_record
from store.session import session_scope
from store.work import Lead
from workflows import lead_types as lt
from workflows.lead_clock import ladder_action

Change = Callable[[Session, Lead, Timing], None]


class LeadActivities:
    """Lead activities bound to a database (and, by convention, a Deliverer and settings)."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        deliverer: Any = None,
        settings: Any = None,
        *,
        calendars: Mapping[str, BusinessCalendar] | None = None,
    ) -> None:
        self.session_factory, self.settings = session_factory, settings
        self.calendars = dict(calendars or {})

    def activities(self) -> list[Callable[..., Any]]:
        """The bound activity methods, to pass to `Worker(activities=...)`."""
        return [self.assign, self.deadline, self.act]

    @activity.defn(name=lt.ASSIGN.name)
    def assign(self, request: lt.AssignRequest) -> LeadState:
        """The new lead's first owner by the rule's strategy, or the pool if nobody can take it."""
        act = Act(request.key, SYSTEM, request.at)

        def change(session: Session, lead: Lead, timing: Timing) -> None:
            if lead.version != 0:
                return  # assigned already (by an earlier run of this workflow)
            owner, reason = pick_owner(session, lead, timing.spec)
            if owner is None:
                ops.to_pool(session, lead, "returned", act, reason)
            else:
                ops.give(session, lead, owner, "assigned", act, timing, reason)

        return self._run(request, change)

    @activity.defn(name=lt.DEADLINE.name)
    def deadline(self, request: lt.DeadlineRequest) -> LeadState:
        """A deadline passed without contact: take the ladder step, or end the ownership."""
        act = Act(request.key, SYSTEM, request.at)

        def change(session: Session, lead: Lead, timing: Timing) -> None:
            if lead.version != request.version or stage_of(lead) != "owned":
                return  # stale: the lead moved on since this timer was set
            if request.kind == "ownership":
                ops.to_pool(session, lead, "returned", act, "ownership window ended")
                return
            until = timing.spec.follow_up_until
            following = lead.due_kind == "follow_up" and until is not None
            if following and holds(until, lead_record(lead), now=act.at, timezone=timing.tz):
                ops.end_follow_up(session, lead, act)
                return
            self._step(session, lead, request.step, act, timing)

        return self._run(request, change)

    def _step(self, session: Session, lead: Lead, step: int | None, act: Act, timing: Timing):
        action = ladder_action(timing.spec, -1 if step is None else step)
        if action is None:
            return
        missed = f"{lead.due_kind} missed"
        if action.kind in ("remind", "escalate_to"):
            kind = "reminded" if action.kind == "remind" else "escalated"
            ops.notify(session, lead, kind, action.recipient, act, lead_workflow_id(lead.id))
            return
        if action.kind == "reassign_limit" and lead.reassignments < (action.limit or 0):
            exclude = ops.cycle_owners(session, lead)
            owner, _ = pick_owner(session, lead, timing.spec, exclude=exclude)
            if owner is not None:
                ops.give(session, lead, owner, "reassigned", act, timing, missed)
                return
        # No turn left or nobody free: the pool if the step says so, else the owner keeps it.
        if action.kind == "return_to_pool" or action.then_pool:
            ops.to_pool(session, lead, "returned", act, missed)

    @activity.defn(name=lt.ACT.name)
    def act(self, request: lt.ActRequest) -> LeadState:
        """A person's action, if the lead's state and the pool rules allow it now."""
        command = request.command
        act = Act(request.key, command.actor, request.at)

        def change(session: Session, lead: Lead, timing: Timing) -> None:
            refused = refusal(session, lead, request.action, command.actor, command.role,
                              at=act.at, timing=timing)  # fmt: skip
            if refused is not None:
                raise ApplicationError(
                    refused.detail, refused.details(), type=LEAD_REFUSED, non_retryable=True
                )
            if request.action == "contact":
                ops.contact(session, lead, act, timing)
            elif request.action == "convert":
                ops.close(session, lead, "won", "converted", act, command.reason)
            elif request.action == "disqualify":
                status = command.outcome or "lost"
                ops.close(session, lead, status, "disqualified", act, command.reason)
            elif request.action == "claim":
                ops.give(session, lead, command.actor, "claimed", act, timing, "from the pool")
            else:
                reason = command.reason or "released by the owner"
                ops.to_pool(session, lead, "released", act, reason)

        return self._run(request, change)

    def _run(self, request: lt.LeadRequest, change: Change) -> LeadState:
        with session_scope(self.session_factory) as session:
            calendar = calendar_for(request.spec, session, self.calendars)
            timing = Timing(request.spec, calendar, request.timezone)
            lead = ops.lock(session, request.lead_id)
            if lead is None:
                raise ApplicationError(
                    f"lead {request.lead_id} not found", type="LeadNotFound", non_retryable=True
                )
            if not ops.applied(session, request.key):
                change(session, lead, timing)
                session.flush()
            return state_of(lead, timing)
