"""What crosses the TicketSLA workflow boundary: its input, the actions it accepts, the state it
answers with, and the one activity it calls, by name, with timeout and retry policy.

Payloads carry ids and codes only (ticket id, employee ids, status, priority): the ticket's
subject and the customer's details stay in the database. The calendar snapshot is data, so the
workflow computes due times itself and deterministically; a calendar edit reaches running
tickets as a `calendar` signal carrying a new snapshot.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from temporalio.common import RetryPolicy

from dsl.plan_ops import SlaSpec
from runtime.contracts import RuleRef

WORKFLOW = "TicketSLAWorkflow"
ACT_UPDATE = "act"  # the update every ticket action arrives as
STATE_QUERY = "sla_state"
CALENDAR_SIGNAL = "calendar"
RECORD_ACTIVITY = "ticket.record"
RECORD_TIMEOUT = timedelta(seconds=30)
RECORD_BATCH = 50  # steps one record activity writes at most (one transaction)
# The database may be down for a while: retry until it is back; bad input is non-retryable.
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)

Action = Literal[
    "acknowledge",
    "respond",
    "wait_on_customer",
    "resume",
    "resolve",
    "reopen",
    "reassign",
    "escalate",
    "extend",
    "withdraw",
]
ClockStatus = Literal["pending", "running", "paused", "met", "stopped", "cancelled"]


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _State(BaseModel):
    """Engine state: mutated in place by the engine, serialised whole across continue-as-new."""

    model_config = ConfigDict(extra="forbid")


class CalendarSnapshot(_Payload):
    """One ticket's business calendar: weekly hours, holidays and make-up days, time zone."""

    name: str
    timezone: str
    week: list[tuple[str, str] | None]  # Monday first: local "HH:MM" open and close, or closed
    day_hours: tuple[str, str]  # a standard business day: make-up workdays, "N business days"
    holidays: list[date] = []
    workdays: list[date] = []  # make-up workdays (weekend days that are worked)
    years: list[int] = []  # years whose official table is known (others: weekly pattern only)


class TicketFields(_State):
    """The ticket fields SLA conditions read (`ticket.*`); employee ids, no personal data."""

    id: str
    category: str
    priority: str
    status: str
    channel: str
    team: str
    assignee: str | None = None
    assigned_role: str | None = None  # a queue the ticket waits in when no person holds it
    named_employee: str | None = None
    regulatory: bool = False
    opened_at: datetime
    reported_at: datetime | None = None

    def record(self) -> dict[str, Any]:
        """The record `dsl.pyeval` predicates read, keyed by field path."""
        return {f"ticket.{name}": value for name, value in self.model_dump().items()}


class TicketAction(_Payload):
    action: Action
    actor: str  # the user acting (audited); the workflow never trusts it for authorisation
    assignee: str | None = None  # reassign to a person
    role: str | None = None  # reassign to a role queue, or escalate: notify this role
    team: str | None = None  # reassign to another team's queue
    priority: str | None = None  # escalate: the new priority (default: one step up)
    approver: str | None = None  # extend: who approved the regulatory extension


class Segment(_State):
    start: datetime
    end: datetime | None = None


class ClockRun(_State):
    """One clock's progress in the current cycle (segments are its active periods)."""

    status: Literal["pending", "active", "met", "stopped"] = "active"
    segments: list[Segment] = []
    run: int = 0  # next_response restarts on every customer reply
    ended_at: datetime | None = None
    due_at: datetime | None = None  # the due time as it stood when the clock ended


class ExtensionRecord(_Payload):
    number: int  # 1, 2 ...
    mode: Literal["to", "by"]
    previous_due_at: datetime
    due_at: datetime
    approver: str
    requested_by: str


class DeadlineRun(_State):
    """The regulatory deadline: counts from the SLA start, never pauses, extendable."""

    due_at: datetime
    extensions: list[ExtensionRecord] = []
    met_at: datetime | None = None


class EscalationRecord(_Payload):
    key: str  # unique per ticket, cycle, clock run and escalation: the idempotency key
    clock: str
    trigger: str  # at_percent | on_breach | after_breach | manual | deadline
    cycle: int
    action: str  # notify | reassign | raise_priority
    recipient: str | None = None
    template: str | None = None
    priority_from: str | None = None
    priority_to: str | None = None
    outcome: str = "done"  # or why nothing changed: refused_named_employee, no_higher_priority
    at: datetime


class EngineState(_State):
    """Everything the SLA engine knows; carried across continue-as-new."""

    ticket: TicketFields
    started_at: datetime | None = None
    paused: bool = False
    stopped: bool = False  # the stop condition holds
    cancelled: bool = False
    closed: bool = False
    reset_latch: bool = False
    cycle: int = 0
    clocks: dict[str, ClockRun] = {}
    fired: list[str] = []
    deadline: DeadlineRun | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    escalations: int = 0
    seq: int = 0


class TicketSLAInput(_Payload):
    rule: RuleRef
    sla: SlaSpec  # the plan fragment this ticket is pinned to
    ticket: TicketFields
    calendar: CalendarSnapshot
    reopen_window: timedelta = timedelta(days=30)  # resolved this long without reopen: closed
    history_limit: int = 2000  # events before continuing as new (Temporal may suggest sooner)
    state: EngineState | None = None  # set when continuing as new


class ClockState(_Payload):
    name: str
    status: ClockStatus
    measure: Literal["business", "wall"] | None
    target_seconds: float | None
    elapsed_seconds: float
    remaining_seconds: float | None
    due_at: datetime | None
    breached: bool
    breached_at: datetime | None
    cycle: int


class DeadlineState(_Payload):
    due_at: datetime
    remaining_seconds: float
    breached: bool
    met_at: datetime | None
    extensions: list[ExtensionRecord]
    extensions_left: int


class SlaState(_Payload):
    """The live SLA state of a ticket at `as_of` (what `GET /v1/tickets/{id}` shows)."""

    ticket_id: str
    sla: str
    plan_hash: str
    as_of: datetime
    status: str
    priority: str
    assignee: str | None
    assigned_role: str | None
    team: str
    paused: bool
    cancelled: bool
    closed: bool
    started_at: datetime | None
    timezone: str
    clocks: list[ClockState]
    deadline: DeadlineState | None
    escalations: int
    seq: int
    # Years the due times reach whose official holidays the calendar does not hold yet: those
    # days count as ordinary weekdays until operations load the year (PUT /v1/calendars/...).
    calendar_years_missing: list[int] = []


class TicketRecord(_Payload):
    """One state change for the database: ticket row, clock mirror, audit, escalations."""

    ticket_id: str
    workflow_id: str
    rule: RuleRef
    seq: int  # strictly increasing per ticket: a retried or stale record is ignored
    at: datetime
    actor: str
    action: str  # audit action, e.g. "ticket.respond", "ticket.sla_started"
    detail: dict[str, str | int | float | bool | None] = {}
    state: SlaState
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    escalations: list[EscalationRecord] = []
    extension: ExtensionRecord | None = None


class RecordBatch(_Payload):
    """Steps of one ticket in `seq` order, written in one transaction."""

    records: list[TicketRecord]
