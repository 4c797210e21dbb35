"""Pure helpers of `JourneyWorkflow`: the activity requests it sends and which conditions an
incoming event must be checked against.

Kept apart from the workflow so the interpreter reads as control flow. Everything here is a
function of the journey input, the step and the workflow's time: deterministic, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dsl.expr import Expr
from dsl.plan import DurationSpec, JourneySpec, NotifyStep, SendStep, TaskStep, WaitEventStep
from runtime.contracts import EventSignal, JourneyInput
from workflows import journey_types as jt
from workflows import task_types as tt


def enter(inp: JourneyInput, workflow_id: str, now: datetime) -> jt.EnterRequest:
    return jt.EnterRequest(rule=inp.rule, entry=inp.journey.entry,
                           reentry_never=inp.journey.reentry_never, customer_id=inp.customer_id,
                           event_id=inp.event_id, workflow_id=workflow_id, now=now,
                           timezone=inp.timezone)  # fmt: skip


def send(inp: JourneyInput, root: str, step: SendStep, now: datetime) -> jt.SendRequest:
    return jt.SendRequest(rule=inp.rule, root_run_id=root, step=step, now=now,
                          customer_id=inp.customer_id, policy=inp.journey.policy,
                          caps=list(inp.journey.caps), event_id=inp.event_id)  # fmt: skip


def open_task(inp: JourneyInput, root: str, step: TaskStep, now: datetime) -> tt.OpenTasksRequest:
    return tt.OpenTasksRequest(rule=inp.rule, step=step, root_run_id=root, now=now,
                               customer_ids=[inp.customer_id], calendar=inp.calendar,
                               timezone=inp.timezone)  # fmt: skip


def notify(inp: JourneyInput, root: str, step: NotifyStep, now: datetime) -> tt.NotifyRequest:
    return tt.NotifyRequest(rule=inp.rule, step=step, root_run_id=root, now=now,
                            customer_ids=[inp.customer_id])  # fmt: skip


def evaluate(inp: JourneyInput, conditions: list[Expr], event_id: int | None,
             now: datetime) -> jt.EvaluateRequest:  # fmt: skip
    return jt.EvaluateRequest(customer_id=inp.customer_id, event_id=event_id, now=now,
                              conditions=conditions, timezone=inp.timezone)  # fmt: skip


def deadline(inp: JourneyInput, start: datetime, duration: DurationSpec) -> jt.DeadlineRequest:
    return jt.DeadlineRequest(start=start, duration=duration, calendar=inp.calendar,
                              timezone=inp.timezone)  # fmt: skip


@dataclass(frozen=True)
class EventChecks:
    """What one incoming event is checked against, in this order."""

    exit_now: bool  # an `exit on event <type>` without `where`: no check needed
    on_event: list[Expr]  # `exit on event <type> where ...` conditions
    when: list[Expr]  # `exit when ...` customer conditions, re-checked on every event
    where: list[Expr]  # the current `wait for event <type> where ...`, if it is this type
    waits: bool  # the journey is waiting for an event of this type

    @property
    def conditions(self) -> list[Expr]:
        return [*self.on_event, *self.when, *self.where]

    def verdict(self, results: list[bool]) -> str | None:
        """`exit:<reason>`, `match` (the wait's event came), or None."""
        on_event, when = len(self.on_event), len(self.when)
        if any(results[:on_event]):
            return "exit:event"
        if any(results[on_event : on_event + when]):
            return "exit:condition"
        if self.waits and (not self.where or results[-1]):
            return "match"
        return None


def event_checks(spec: JourneySpec, signal: EventSignal, wait: WaitEventStep | None) -> EventChecks:
    """The checks `signal` needs while the journey waits for `wait` (or for nothing)."""
    exits = [x for x in spec.exits if x.event == signal.type]
    when = [x.condition for x in spec.exits if x.event is None and x.condition is not None]
    waits = wait is not None and wait.event == signal.type
    return EventChecks(
        exit_now=any(x.condition is None for x in exits),
        on_event=[x.condition for x in exits if x.condition is not None],
        when=when,
        where=[wait.where] if waits and wait is not None and wait.where is not None else [],
        waits=waits,
    )
