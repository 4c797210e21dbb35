"""The SLA engine of one ticket: clocks, conditions, actions and the escalation ladder.

A pure state machine over `EngineState` (no I/O, no wall clock: every method takes the time),
so the workflow is a thin durable shell around it and tests drive thousands of tickets through
it in memory. Semantics (ServiceNow-style conditions over the ticket record):

- start: clocks start when the start condition first holds, at the rule's `start from` ticket
  field when it names an earlier time (a retroactive start), else at the ticket's opening.
- pause/resume: pause when the pause condition holds; resume when the resume condition holds
  (without one: when the pause condition no longer holds). A paused clock accumulates nothing.
- stop: running clocks stop; if the stop condition stops holding (a reopened ticket) without a
  reset, they run on from where they stopped. reset (when the condition becomes true): every
  clock starts again from zero in a new cycle. cancel: the SLA ends.
- first_response is met by acknowledge or respond; next_response runs from each customer
  reply (resume) to the next respond; every other clock runs until the stop condition.
- An escalation fires at most once per cycle, clock run and ladder step, never while the SLA
  is paused or stopped; its key is the database's idempotency key too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from workflows import ticket_sla_clock as clock
from workflows import ticket_sla_rules as rules
from workflows.ticket_sla_ladder import Change, Ladder
from workflows.ticket_sla_types import (
    ClockRun,
    DeadlineRun,
    EngineState,
    Segment,
    TicketAction,
    TicketSLAInput,
)

FIRST, NEXT = "first_response", "next_response"


@dataclass
class Legacy:
    """Behaviours of earlier engine versions, for replaying tickets started under them (the
    workflow sets these from `workflow.patched`; everything else runs the current rules)."""

    named_employee: bool = False  # the named employee was only kept from being assigned
    late_start: bool = False  # the action that started a late SLA did not meet first_response


class SlaEngine(Ladder):
    def __init__(self, inp: TicketSLAInput) -> None:
        super().__init__(inp)
        self.conditions = rules.Conditions(self.sla.conditions)
        self.reopen_window = inp.reopen_window
        state = inp.state or EngineState(ticket=inp.ticket)
        self.state = state.model_copy(deep=True)
        self.legacy = Legacy()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, at: dt.datetime) -> Change:
        """Evaluate the conditions for the first time (the workflow's first step)."""
        self._settle(at, first=True)
        return Change(
            "ticket.sla_started" if self.state.started_at else "ticket.sla_waiting",
            "system",
            sla=self.sla.name,
        )

    def check(
        self, action: TicketAction, at: dt.datetime, *, legacy_named_employee: bool = False
    ) -> None:
        """Raise InvalidActionError unless `action` applies now (the update's validator)."""
        st = self.state
        if st.cancelled or st.closed:
            raise rules.InvalidActionError("closed", "the ticket's SLA has ended")
        rules.check(
            action, st.ticket, self.sla.never_assign, legacy_named_employee=legacy_named_employee
        )
        if (
            action.action == "escalate"
            and action.priority
            and action.priority not in self.sla.targets
        ):
            raise rules.InvalidActionError("unknown_priority", f"no target for {action.priority}")
        if action.action == "extend":
            self._check_extension(action, at)

    def apply(self, action: TicketAction, at: dt.datetime) -> Change:
        """Carry out a checked action at `at`."""
        self.check(action, at, legacy_named_employee=self.legacy.named_employee)
        st, ticket, name = self.state, self.state.ticket, action.action
        change = Change(f"ticket.{name}", action.actor, status_before=ticket.status)
        priority = ticket.priority
        target = rules.apply_fields(ticket, action, list(self.sla.targets))
        if target is not None:
            change.detail["to"] = target
        if name in ("acknowledge", "respond"):
            if st.started_at is None and not self.legacy.late_start:
                self._settle(at)  # a late `start when` may hold now: start, then meet at once
            st.first_response_at = st.first_response_at or at
            self._meet(FIRST, at)
            self._meet(NEXT, at)
        elif name == "resume":
            self._restart(NEXT, at)
        elif name in ("resolve", "reopen"):
            st.resolved_at = at if name == "resolve" else None
        elif name == "escalate":
            change.escalations.append(self._manual_escalation(action, priority, at))
            st.escalations += 1  # by hand or by the ladder, `escalations` counts them all
        elif name == "extend":
            change.extension = self._extend(action, at)
        change.detail["status"] = ticket.status
        self._settle(at)
        return change

    def close_due(self, at: dt.datetime) -> Change | None:
        """Close a ticket resolved longer than the reopen window (the workflow then ends)."""
        st = self.state
        if st.ticket.status != "resolved" or st.resolved_at is None:
            return None
        if at < st.resolved_at + self.reopen_window:
            return None
        st.ticket.status, st.closed = "closed", True
        self._settle(at)
        return Change("ticket.closed", "system", status="closed")

    # -- conditions ------------------------------------------------------------------------
    def _holds(self, kind: str, at: dt.datetime) -> bool:
        today = at.astimezone(self.cal.zone).date()
        return self.conditions.holds(kind, self.state.ticket, at, today)

    def _settle(self, at: dt.datetime, first: bool = False) -> None:
        st = self.state
        if not st.cancelled and self._holds("cancel", at):
            st.cancelled = True
        if st.cancelled:
            self._reconcile(at)
            return
        if st.started_at is None:
            if not self._holds("start", at):
                return
            self._begin(at, st.ticket.opened_at if first else at)
        reset = self._holds("reset", at)
        if reset and not st.reset_latch:
            self._reset(at)
        st.reset_latch = reset
        stop = self._holds("stop", at)
        for run in st.clocks.values():
            if stop and not st.stopped and run.status == "active":
                run.status, run.ended_at = "stopped", at
            elif not stop and st.stopped and run.status == "stopped":
                run.status, run.ended_at, run.due_at = "active", None, None
        if st.deadline is not None:
            st.deadline.met_at = (st.deadline.met_at or at) if stop else None
        st.stopped = stop
        if st.paused:
            resume = self._holds("resume", at) if self.conditions.defined("resume") else None
            st.paused = not (resume if resume is not None else not self._holds("pause", at))
        else:
            st.paused = self._holds("pause", at)
        self._reconcile(at)

    def _begin(self, at: dt.datetime, default: dt.datetime) -> None:
        st = self.state
        retro = st.ticket.record().get(self.sla.start_from) if self.sla.start_from else None
        start = min(retro if isinstance(retro, dt.datetime) else default, at)
        st.started_at = start
        st.clocks = self._fresh(start)
        if self.sla.deadline is not None:
            due = clock.add_calendar(start, self.sla.deadline.duration, self.cal)
            st.deadline = DeadlineRun(due_at=due)

    def _fresh(self, start: dt.datetime) -> dict[str, ClockRun]:
        return {
            name: ClockRun(status="pending")
            if name == NEXT
            else ClockRun(status="active", segments=[Segment(start=start)])
            for name in self.clock_names
        }

    def _reset(self, at: dt.datetime) -> None:
        st = self.state
        st.cycle += 1
        st.clocks = self._fresh(at)
        st.paused = st.stopped = False

    def _reconcile(self, at: dt.datetime) -> None:
        """Open or close each clock's segment so that exactly the running clocks run."""
        st = self.state
        for run in st.clocks.values():
            running = run.status == "active" and not (st.paused or st.stopped or st.cancelled)
            is_open = bool(run.segments) and run.segments[-1].end is None
            if running and not is_open:
                run.segments.append(Segment(start=at))
            elif not running and is_open:
                run.segments[-1].end = at
            if run.status in ("met", "stopped") and run.due_at is None:
                run.due_at = self.due_of(run)

    def _meet(self, name: str, at: dt.datetime) -> None:
        run = self.state.clocks.get(name)
        if run is not None and run.status == "active":
            run.status, run.ended_at = "met", at
            if run.segments and run.segments[-1].end is None:
                run.segments[-1].end = at

    def _restart(self, name: str, at: dt.datetime) -> None:
        run = self.state.clocks.get(name)
        if run is not None and self.state.started_at is not None:
            run.status, run.run, run.segments, run.ended_at = "active", run.run + 1, [], None
            run.due_at = None
