"""The escalation ladder and the regulatory deadline of a ticket's SLA (engine, part two).

`pending` lists every rung not yet fired in the current cycle and clock run with the instant it
is due (a warning at p% of a target, the breach, or a duration after the breach, each counted
in its own measure from the clock's active segments); `fire_due` fires those due, one at a
time, because a rung that raises the priority shortens the targets of the rungs after it.
Nothing fires while the SLA is paused or stopped. The regulatory deadline counts from the SLA's
start and never pauses: each extension needs an approver who is neither the requester, the
handler nor the employee the ticket names, and none is granted once the deadline has passed.
"""

from __future__ import annotations

import datetime as dt

from dsl.plan import DurationSpec
from workflows import ticket_sla_clock as clock
from workflows import ticket_sla_rules as rules
from workflows.ticket_sla_engine_view import EngineView
from workflows.ticket_sla_types import (
    ClockRun,
    EscalationRecord,
    ExtensionRecord,
    TicketAction,
)

DEADLINE_RECIPIENT = "role:compliance"  # who hears of a missed regulatory deadline


class Change:
    """What one step did, for the database and the audit log."""

    def __init__(self, action: str, actor: str, **detail: object) -> None:
        self.action, self.actor, self.detail = action, actor, detail
        self.escalations: list[EscalationRecord] = []
        self.extension: ExtensionRecord | None = None


class Ladder(EngineView):
    reopen_window: dt.timedelta

    # -- escalations -----------------------------------------------------------------------
    def pending(self) -> list[tuple[dt.datetime, str, int]]:
        """(instant, key, ladder index) of every escalation not fired in this cycle and run."""
        st, found = self.state, []
        if st.started_at is None or st.cancelled or st.closed:
            return found
        for index, step in enumerate(self.sla.escalations):
            run, target = st.clocks.get(step.clock), self.target(step.clock)
            if run is None or run.status != "active" or target is None:
                continue
            key = f"{st.cycle}:{step.clock}:{run.run}:{index}"
            if key in st.fired:
                continue
            instant = self._instant(run, target, step.trigger, step.percent, step.after)
            if instant is not None:
                found.append((instant, key, index))
        return sorted(found, key=lambda item: (item[0], item[2]))

    def _instant(self, run: ClockRun, target, trigger: str, percent, after: DurationSpec | None):
        segments = self.segments(run)
        measure, seconds = target
        if trigger == "at_percent":
            return clock.reach(segments, measure, self.cal, seconds * percent / 100)
        breach = clock.reach(segments, measure, self.cal, seconds)
        if trigger == "on_breach" or breach is None or after is None:
            return breach
        after_measure, after_seconds = clock.target_of(after, self.cal, breach)
        base = clock.elapsed(segments, after_measure, self.cal, breach)
        return clock.reach(segments, after_measure, self.cal, base + after_seconds)

    def fire_due(self, at: dt.datetime) -> Change | None:
        """Fire every escalation (and deadline notice) due at `at`; None when nothing was."""
        st, change = self.state, Change("ticket.escalated", "system")
        while not (st.paused or st.stopped):
            due = [item for item in self.pending() if item[0] <= at]
            if not due:
                break
            _, key, index = due[0]
            st.fired.append(key)
            change.escalations.append(self._escalate(key, index, at))
        deadline = st.deadline
        if deadline is not None and not st.cancelled and deadline.met_at is None:
            key = f"deadline:{len(deadline.extensions)}"
            if deadline.due_at <= at and key not in st.fired:
                st.fired.append(key)
                change.escalations.append(
                    EscalationRecord(
                        key=key,
                        clock="deadline",
                        trigger="deadline",
                        cycle=st.cycle,
                        action="notify",
                        recipient=DEADLINE_RECIPIENT,
                        at=at,
                    )
                )
        st.escalations += len(change.escalations)
        return change if change.escalations else None

    def _escalate(self, key: str, index: int, at: dt.datetime) -> EscalationRecord:
        step, ticket = self.sla.escalations[index], self.state.ticket
        to = rules.recipient(step.recipient, ticket) if step.recipient is not None else None
        before, outcome = ticket.priority, "done"
        if step.action == "reassign" and to is not None:
            if to in rules.forbidden_handlers(ticket, self.sla.never_assign):
                outcome = "refused_named_employee"
            else:
                rules.assign(ticket, to)
        elif step.action == "raise_priority":
            after = rules.raised(before, list(self.sla.targets), step.priority)
            if after is None:
                outcome = "no_higher_priority"
            else:
                ticket.priority = after
        return EscalationRecord(
            key=key,
            clock=step.clock,
            trigger=step.trigger,
            cycle=self.state.cycle,
            action=step.action,
            recipient=to,
            template=step.template,
            priority_from=before,
            priority_to=ticket.priority,
            outcome=outcome,
            at=at,
        )

    def _manual_escalation(
        self, action: TicketAction, before: str, at: dt.datetime
    ) -> EscalationRecord:
        """The record of an escalation by hand (the priority was raised by the rules)."""
        st, after = self.state, self.state.ticket.priority
        return EscalationRecord(
            key=f"manual:{st.seq + 1}",
            clock="",
            trigger="manual",
            cycle=st.cycle,
            action="raise_priority" if after != before else "notify",
            recipient=f"role:{action.role}" if action.role else None,
            priority_from=before,
            priority_to=after,
            at=at,
        )

    def next_wakeup(self, at: dt.datetime) -> dt.datetime | None:
        """The next instant something is due after `at` (an escalation, the deadline, closing)."""
        st = self.state
        times = [instant for instant, _, _ in self.pending() if instant > at]
        deadline = st.deadline
        if (
            deadline is not None
            and deadline.met_at is None
            and not st.cancelled
            and f"deadline:{len(deadline.extensions)}" not in st.fired
            and deadline.due_at > at
        ):
            times.append(deadline.due_at)
        resolved = st.resolved_at
        if st.ticket.status == "resolved" and resolved and resolved + self.reopen_window > at:
            times.append(resolved + self.reopen_window)
        return min(times, default=None)

    # -- regulatory deadline ---------------------------------------------------------------
    def _check_extension(self, action: TicketAction, at: dt.datetime) -> None:
        spec, run, ticket = self.sla.deadline, self.state.deadline, self.state.ticket
        if spec is None or run is None:
            raise rules.InvalidActionError("no_deadline", "this ticket has no regulatory deadline")
        if len(run.extensions) >= len(spec.extensions):
            raise rules.InvalidActionError(
                "no_extension_left", "the deadline cannot be extended again"
            )
        if run.due_at <= at:
            raise rules.InvalidActionError("deadline_passed", "the deadline has already passed")
        approver = action.approver
        if not approver or approver in {action.actor, ticket.assignee, ticket.named_employee}:
            raise rules.InvalidActionError(
                "approver", "an extension needs an approver other than the handler and requester"
            )

    def _extend(self, action: TicketAction, at: dt.datetime) -> ExtensionRecord:
        spec, run = self.sla.deadline, self.state.deadline
        assert spec is not None and run is not None and self.state.started_at is not None
        mode, duration = spec.extensions[len(run.extensions)]
        base = self.state.started_at if mode == "to" else run.due_at
        record = ExtensionRecord(
            number=len(run.extensions) + 1,
            mode=mode,
            previous_due_at=run.due_at,
            due_at=clock.add_calendar(base, duration, self.cal),
            approver=action.approver or "",
            requested_by=action.actor,
        )
        run.extensions.append(record)
        run.due_at = record.due_at
        return record
