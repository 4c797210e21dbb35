"""The typed syntax tree of a rule file, as written, with a source span on every node.

The parser builds it from Lark's parse tree; the checker reads it and produces typed IR; the
compiler never sees text. Nodes are plain dataclasses so tests can build them by hand. Rule
blocks keep only the last value of a single-valued line; the parser reports repeats (E110).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from dsl.errors import Span

# ----- expressions ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Name:
    parts: tuple[str, ...]
    span: Span

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class Literal:
    kind: str  # number | percent | string | date | bool
    value: Decimal | str | dt.date | bool
    span: Span


@dataclass(frozen=True, slots=True)
class Duration:
    amount: Decimal
    unit: str  # minute | hour | day | week | month | year
    business: bool
    span: Span

    def __str__(self) -> str:
        unit = self.unit if self.amount == 1 else f"{self.unit}s"
        business = "business " if self.business else ""
        return f"{self.amount} {business}{unit}"


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # and | or | == != < <= > >= | + - * /
    left: Node
    right: Node
    span: Span


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # not | -
    arg: Node
    span: Span


@dataclass(frozen=True, slots=True)
class InList:
    item: Node
    options: tuple[Node, ...]
    negated: bool
    span: Span


@dataclass(frozen=True, slots=True)
class TimeTest:
    kind: str  # is_today | before_ago | within_ago
    subject: Node
    duration: Duration | None
    span: Span


@dataclass(frozen=True, slots=True)
class Call:
    target: Name  # e.g. customer.holds
    args: tuple[Node, ...]
    span: Span


Node = Name | Literal | Binary | Unary | InList | TimeTest | Call

# ----- shared pieces -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ident:
    value: str
    span: Span


@dataclass(frozen=True, slots=True)
class Recipient:
    kind: str  # field | role | team | user
    value: str  # dotted path, role name, team or user name
    span: Span


@dataclass(frozen=True, slots=True)
class Cap:
    count: int
    unit: Ident  # messages | contacts | tasks
    per: Ident  # customer
    window: Duration
    span: Span


@dataclass(frozen=True, slots=True)
class Reentry:
    never: bool
    after: Duration | None
    span: Span


@dataclass(frozen=True, slots=True)
class Send:
    channel: Ident
    template: Ident
    span: Span


@dataclass(frozen=True, slots=True)
class Task:
    kind: Ident
    assignee: Recipient
    due: Duration
    escalate_to: Recipient | None
    cancel_when: Node | None
    note: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class Notify:
    recipient: Recipient
    template: Ident | None
    span: Span


Action = Send | Task | Notify

# ----- journey steps -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Wait:
    duration: Duration
    span: Span


@dataclass(frozen=True, slots=True)
class WaitEvent:
    event: Name
    where: Node | None
    timeout: Duration | None
    on_timeout: tuple[Step, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class If:
    condition: Node
    then: tuple[Step, ...]
    otherwise: tuple[Step, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Exit:
    span: Span


Step = Send | Task | Notify | Wait | WaitEvent | If | Exit

# ----- top-level blocks ----------------------------------------------------------------------


@dataclass(slots=True)
class Header:
    name: Ident
    title: Ident | None = None
    owner: Ident | None = None
    timezone: Ident | None = None
    calendar: Ident | None = None
    description: Ident | None = None


@dataclass(slots=True)
class FieldDecl:
    path: Name
    type_name: Ident
    span: Span


@dataclass(slots=True)
class Policy:
    name: Ident
    span: Span
    quiet_hours: tuple[dt.time, dt.time, Span] | None = None
    caps: list[Cap] = field(default_factory=list)
    requires: list[Name] = field(default_factory=list)
    category: Ident | None = None


@dataclass(slots=True)
class Segment:
    name: Ident
    span: Span
    where: Node | None = None
    title: Ident | None = None


@dataclass(slots=True)
class Audience:
    segment: Ident | None  # None: every customer
    where: Node | None
    span: Span


@dataclass(slots=True)
class Schedule:
    kind: str  # daily | weekly | monthly | personal_date
    at: dt.time
    span: Span
    weekdays: tuple[Ident, ...] = ()
    day_of_month: int | None = None
    date_field: Name | None = None


@dataclass(slots=True)
class Campaign:
    name: Ident
    span: Span
    audience: Audience | None = None
    schedule: Schedule | None = None
    policy: Ident | None = None
    category: Ident | None = None
    title: Ident | None = None
    reentry: Reentry | None = None
    caps: list[Cap] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)


@dataclass(slots=True)
class Trigger:
    event: Name
    where: Node | None
    span: Span


@dataclass(slots=True)
class ExitRule:
    event: Name | None  # exit on event X [where ...]
    condition: Node | None  # exit when <expr>, or the event's where
    span: Span


@dataclass(slots=True)
class Journey:
    name: Ident
    span: Span
    trigger: Trigger | None = None
    when: Node | None = None
    exits: list[ExitRule] = field(default_factory=list)
    policy: Ident | None = None
    category: Ident | None = None
    title: Ident | None = None
    reentry: Reentry | None = None
    repeat_yearly: bool = False
    caps: list[Cap] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)


@dataclass(slots=True)
class RulesetFile:
    """One parsed rule file: its header and every block, in source order within each kind."""

    filename: str
    source: str
    header: Header
    fields: list[FieldDecl] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    campaigns: list[Campaign] = field(default_factory=list)
    journeys: list[Journey] = field(default_factory=list)
    slas: list[Sla] = field(default_factory=list)
    leads: list[Lead] = field(default_factory=list)


if TYPE_CHECKING:
    from dsl.syntax_ops import Lead, Sla
