"""Syntax-tree nodes of the operational blocks: `sla` (service desk) and `lead` (sales).

Split from dsl/syntax.py to keep each module readable; the shapes follow the grammar's
`sla_line` and `lead_line` alternatives one to one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from dsl.errors import Span
from dsl.syntax import Duration, Ident, Name, Node, Recipient


@dataclass(frozen=True, slots=True)
class AppliesTo:
    entity: Ident  # ticket | lead
    where: Node
    span: Span


@dataclass(frozen=True, slots=True)
class Hours:
    around_the_clock: bool
    start: dt.time | None
    end: dt.time | None
    span: Span


@dataclass(frozen=True, slots=True)
class ClockTarget:
    clock: Ident  # first_response | next_response | resolution | any custom clock name
    duration: Duration
    span: Span


@dataclass(frozen=True, slots=True)
class SlaTarget:
    priority: Ident
    clocks: tuple[ClockTarget, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Extension:
    mode: str  # to | by
    duration: Duration
    span: Span


@dataclass(frozen=True, slots=True)
class Deadline:
    duration: Duration
    extensions: tuple[Extension, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Condition:
    kind: str  # start | pause | resume | stop | reset | cancel
    expr: Node
    span: Span


@dataclass(frozen=True, slots=True)
class Escalation:
    trigger: str  # at_percent | on_breach | after_breach
    clock: Ident
    percent: float | None
    after: Duration | None
    action: str  # notify | reassign | raise_priority
    recipient: Recipient | None
    template: Ident | None
    priority: Ident | None
    span: Span


@dataclass(slots=True)
class Sla:
    name: Ident
    span: Span
    applies_to: AppliesTo | None = None
    hours: Hours | None = None
    calendar: Ident | None = None
    timezone: Ident | None = None  # fixed zone
    timezone_from: Ident | None = None  # branch | customer
    start_from: Name | None = None
    targets: list[SlaTarget] = field(default_factory=list)
    deadline: Deadline | None = None
    never_assign: Name | None = None
    conditions: list[Condition] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Assign:
    strategy: Ident  # round_robin | by_region | by_load
    team: Ident
    by: Name | None
    span: Span


@dataclass(frozen=True, slots=True)
class LadderAction:
    kind: str  # remind | escalate_to | reassign_limit | return_to_pool
    recipient: Recipient | None
    limit: int | None
    then_pool: bool
    span: Span


@dataclass(frozen=True, slots=True)
class LadderStep:
    after: Duration
    action: LadderAction
    span: Span


@dataclass(frozen=True, slots=True)
class FirstContact:
    within: Duration
    otherwise: LadderAction | None
    span: Span


@dataclass(frozen=True, slots=True)
class FollowUp:
    every: Duration
    until: Node | None
    span: Span


@dataclass(frozen=True, slots=True)
class PoolRule:
    kind: str  # keep_level | release_after | cooldown | claim_limit | hold_limit
    number: int | None
    duration: Duration | None
    field: Name | None
    span: Span


@dataclass(slots=True)
class Lead:
    name: Ident
    span: Span
    applies_to: AppliesTo | None = None
    assign: Assign | None = None
    capacity: int | None = None
    first_contact: FirstContact | None = None
    follow_up: FollowUp | None = None
    overdue: list[LadderStep] = field(default_factory=list)
    pool: list[PoolRule] = field(default_factory=list)
    calendar: Ident | None = None
