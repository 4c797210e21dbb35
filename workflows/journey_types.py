"""The typed activity registry of a journey: each activity's name, input, result, timeout and
retry policy, plus the payloads the journey answers with.

`JourneyWorkflow` calls activities by these names and `activities.journey` registers them under
the same names, so the workflow never imports storage. Conditions travel as expression IR and
are evaluated inside activities against the customer and event rows; only ids and booleans come
back into history, never customer data. `listened_events` is shared with the event router,
which signals a running journey only with the event types this returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict
from temporalio.common import RetryPolicy

from dsl.expr import Expr
from dsl.plan import (
    CapSpec,
    DurationSpec,
    IfStep,
    JourneySpec,
    JourneyStep,
    PolicySpec,
    SendStep,
    WaitEventStep,
)
from runtime.contracts import RuleRef

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out")
EVENT_SIGNAL = "event"  # the signal name journeys and task follow-ups receive EventSignal on
# Database activities retry until the database is back; a permanent problem is non-retryable.
DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class ActivityRef(Generic[In, Out]):
    """An activity's registered name, its types, and how the workflow calls it."""

    name: str
    input: type[In]
    result: type[Out]
    timeout: timedelta = timedelta(seconds=30)
    retry: RetryPolicy = field(default_factory=lambda: DB_RETRY)


class EnterRequest(_Payload):
    rule: RuleRef
    entry: Expr | None
    reentry_never: bool
    customer_id: str
    event_id: int
    workflow_id: str
    now: datetime
    timezone: str


class EnterResult(_Payload):
    entered: bool
    reason: str | None = None  # why not: "entry_condition", "reentry_never", "no_customer"
    occurred_at: datetime | None = None  # the trigger's time: yearly repeats count from it


class EvaluateRequest(_Payload):
    """Conditions over the customer and one event (`event.*` reads that event's payload)."""

    customer_id: str
    event_id: int | None
    conditions: list[Expr]
    now: datetime  # the workflow's time, so `within 1 day` means the same on replay
    timezone: str


class DeadlineRequest(_Payload):
    start: datetime
    duration: DurationSpec
    calendar: str
    timezone: str


class SendRequest(_Payload):
    rule: RuleRef
    root_run_id: str
    step: SendStep
    customer_id: str
    policy: PolicySpec | None
    caps: list[CapSpec]
    now: datetime
    event_id: int | None


class SendOutcome(_Payload):
    sent: int = 0
    suppressed: int = 0
    failed: int = 0
    duplicates: int = 0
    deferred_until: datetime | None = None  # quiet hours: send again at this time


Outcome = Literal["running", "holding", "completed", "exited", "not_entered"]


class JourneyState(_Payload):
    """What the `state` query answers."""

    status: Outcome
    cycle: int
    waiting_for: str | None = None
    steps_done: list[str] = []
    exit_reason: str | None = None


class JourneyResult(_Payload):
    outcome: Outcome
    reason: str | None = None
    cycle: int = 0
    steps_done: list[str] = []


ENTER = ActivityRef("journey.enter", EnterRequest, EnterResult)
EVALUATE = ActivityRef("journey.evaluate", EvaluateRequest, list)
DEADLINE = ActivityRef("journey.deadline", DeadlineRequest, datetime)
SEND = ActivityRef("journey.send", SendRequest, SendOutcome, timeout=timedelta(minutes=2))


def walk(steps: Iterable[JourneyStep]) -> Iterable[JourneyStep]:
    """Every step, depth first, including branches and timeout paths."""
    for step in steps:
        yield step
        if isinstance(step, IfStep):
            yield from walk([*step.then, *step.otherwise])
        elif isinstance(step, WaitEventStep):
            yield from walk(step.on_timeout)


def waited_events(spec: JourneySpec) -> frozenset[str]:
    """Event types some `wait for event` step of the journey waits for."""
    return frozenset(s.event for s in walk(spec.steps) if isinstance(s, WaitEventStep))


def listened_events(spec: JourneySpec) -> frozenset[str]:
    """Event types a running journey must hear about: its exits and its waits."""
    return waited_events(spec) | {x.event for x in spec.exits if x.event is not None}


def next_anniversary(anchor: datetime, now: datetime) -> datetime:
    """The first yearly anniversary of `anchor` after `now` (29 February -> 28 February)."""
    years = max(1, now.year - anchor.year)
    while True:
        year = anchor.year + years
        try:
            candidate = anchor.replace(year=year)
        except ValueError:  # 29 February in a year without one
            candidate = anchor.replace(year=year, day=28)
        if candidate > now:
            return candidate
        years += 1
