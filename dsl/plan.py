"""The Plan: the compiled, versioned, content-hashed program that workflows execute.

A plan is pure data (pydantic, canonical JSON): no source positions and no formatting, so
`rulebank fmt` never changes its hash, while any change in meaning does. Each rule fragment is
self-contained (its contact policy and segment are inlined) because a workflow receives only
its own fragment and keeps it for its whole life. Bump SCHEMA_VERSION on any breaking change.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from dsl.expr import Expr

SCHEMA_VERSION = 1
# The units with a fixed length; months, years and business time depend on a calendar.
SECONDS_PER_UNIT = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}


class _Plan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DurationSpec(_Plan):
    amount: int
    unit: Literal["minute", "hour", "day", "week", "month", "year"]
    business: bool = False

    def fixed_seconds(self) -> int | None:
        """Seconds for a calendar-free duration; None for business time, months and years."""
        if self.business or self.unit not in SECONDS_PER_UNIT:
            return None
        return self.amount * SECONDS_PER_UNIT[self.unit]


class Recipient(_Plan):
    kind: Literal["field", "role", "team", "user"]
    value: str


class CapSpec(_Plan):
    count: int
    unit: str
    per: str
    window: DurationSpec


class PolicySpec(_Plan):
    name: str
    category: Literal["marketing", "service"] = "marketing"
    quiet_start: str | None = None  # "21:00" in the customer's time zone
    quiet_end: str | None = None
    caps: list[CapSpec] = []
    requires: list[str] = []  # consent paths, e.g. "consent.marketing"


class SendStep(_Plan):
    kind: Literal["send"] = "send"
    step: str  # stable id within the rule: part of every idempotency key
    channel: Literal["sms", "email", "push"]
    template: str


class TaskStep(_Plan):
    kind: Literal["task"] = "task"
    step: str
    task: str
    assignee: Recipient
    due: DurationSpec
    escalate_to: Recipient | None = None
    cancel_when: Expr | None = None
    note: str | None = None


class NotifyStep(_Plan):
    kind: Literal["notify"] = "notify"
    step: str
    recipient: Recipient
    template: str | None = None


class WaitStep(_Plan):
    kind: Literal["wait"] = "wait"
    step: str
    duration: DurationSpec


class WaitEventStep(_Plan):
    kind: Literal["wait_event"] = "wait_event"
    step: str
    event: str
    where: Expr | None = None
    timeout: DurationSpec | None = None
    on_timeout: list[JourneyStep] = []


class IfStep(_Plan):
    kind: Literal["if"] = "if"
    step: str
    condition: Expr
    then: list[JourneyStep] = []
    otherwise: list[JourneyStep] = []


class ExitStep(_Plan):
    kind: Literal["exit"] = "exit"
    step: str


ActionStep = Annotated[SendStep | TaskStep | NotifyStep, Field(discriminator="kind")]
JourneyStep = Annotated[
    SendStep | TaskStep | NotifyStep | WaitStep | WaitEventStep | IfStep | ExitStep,
    Field(discriminator="kind"),
]


class ScheduleSpec(_Plan):
    kind: Literal["daily", "weekly", "monthly"]
    at: str  # "09:00" in the ruleset's time zone (in each customer's when `local_time`)
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = []
    day_of_month: int | None = None
    timezone: str
    personal_date: str | None = None  # "customer.birthday" when the rule is per personal date
    # A daily audience that tests a customer date (`is today`) runs on each customer's clock:
    # their local date, sent at `at` in their zone (dsl.local_time).
    local_time: bool = False

    @model_serializer(mode="wrap")
    def _without_default_local_time(self, handler: SerializerFunctionWrapHandler) -> dict:
        # Written only when true: plans sealed before the field existed keep their hash, so
        # an approved version still activates and a rollback still finds its plan intact.
        data = handler(self)
        if not self.local_time:
            data.pop("local_time", None)
        return data


class CampaignSpec(_Plan):
    name: str
    title: str | None = None
    category: Literal["marketing", "service"] = "marketing"
    audience: Expr  # customer and consent fields only: compiles to SQL
    segment: str | None = None
    schedule: ScheduleSpec | None = None
    policy: PolicySpec | None = None
    caps: list[CapSpec] = []
    reentry_after: DurationSpec | None = None
    reentry_never: bool = False
    actions: list[ActionStep]


class ExitSpec(_Plan):
    event: str | None = None
    condition: Expr | None = None


class JourneySpec(_Plan):
    name: str
    title: str | None = None
    category: Literal["marketing", "service"] = "marketing"
    event: str
    event_where: Expr | None = None  # evaluated at ingest, before touching Temporal
    entry: Expr | None = None  # customer condition when the journey starts
    exits: list[ExitSpec] = []
    policy: PolicySpec | None = None
    caps: list[CapSpec] = []
    reentry_after: DurationSpec | None = None
    reentry_never: bool = False
    repeat_yearly: bool = False
    steps: list[JourneyStep]


for _model in (WaitEventStep, IfStep, JourneySpec):
    _model.model_rebuild()


def canonical_json(data: object) -> str:
    """The one JSON spelling hashed and stored: sorted keys, no whitespace, UTF-8 kept."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(data: object) -> str:
    """sha256 hex digest of the canonical JSON of `data`."""
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()
