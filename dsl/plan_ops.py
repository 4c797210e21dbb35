"""Plan fragments for the service desk (`sla`) and sales (`lead`) rules, and the Plan itself.

A TicketSLA or LeadFollowUp workflow receives one of these specs and is pinned to the plan hash
it started under; calendars and business hours are named here and resolved at run time from
calendar data operations can update without a release.
"""

from __future__ import annotations

from typing import Literal

from dsl.expr import Expr
from dsl.plan import (
    SCHEMA_VERSION,
    CampaignSpec,
    DurationSpec,
    JourneySpec,
    PolicySpec,
    Recipient,
    _Plan,
    content_hash,
)


class HoursSpec(_Plan):
    around_the_clock: bool = False
    start: str | None = None  # "09:00"
    end: str | None = None  # "18:00"


class EscalationSpec(_Plan):
    trigger: Literal["at_percent", "on_breach", "after_breach"]
    clock: str
    percent: float | None = None
    after: DurationSpec | None = None
    action: Literal["notify", "reassign", "raise_priority"]
    recipient: Recipient | None = None
    template: str | None = None
    priority: str | None = None


class DeadlineSpec(_Plan):
    """A regulatory deadline; each extension needs a recorded approver at run time."""

    duration: DurationSpec
    extensions: list[tuple[Literal["to", "by"], DurationSpec]] = []


class SlaSpec(_Plan):
    name: str
    applies_to: Expr
    hours: HoursSpec
    calendar: str
    timezone: str  # a fixed IANA zone, the fallback when timezone_from has none
    timezone_from: Literal["fixed", "branch", "customer"] = "fixed"
    start_from: str | None = None  # ticket field holding a retroactive start time
    targets: dict[str, dict[str, DurationSpec]]  # priority -> clock -> target
    deadline: DeadlineSpec | None = None
    never_assign: str | None = None  # ticket field naming an employee who must not handle it
    conditions: dict[str, Expr] = {}  # start | pause | resume | stop | reset | cancel
    escalations: list[EscalationSpec] = []


class LadderActionSpec(_Plan):
    kind: Literal["remind", "escalate_to", "reassign_limit", "return_to_pool"]
    recipient: Recipient | None = None
    limit: int | None = None
    then_pool: bool = False


class LadderStepSpec(_Plan):
    after: DurationSpec
    action: LadderActionSpec


class PoolSpec(_Plan):
    keep_by_level: dict[int, DurationSpec] = {}  # customer level -> ownership window
    release_after: list[tuple[str, DurationSpec]] = []  # (date field, delay)
    cooldown: DurationSpec | None = None  # previous owner may not re-claim before this
    claims_per_day: int | None = None
    hold_at_most: int | None = None


class LeadSpec(_Plan):
    name: str
    applies_to: Expr
    strategy: Literal["round_robin", "by_region", "by_load"]
    team: str
    partition_by: str | None = None  # lead field, e.g. lead.region
    capacity: int | None = None
    calendar: str
    first_contact: DurationSpec
    first_contact_otherwise: LadderActionSpec | None = None
    follow_up_every: DurationSpec | None = None
    follow_up_until: Expr | None = None
    overdue: list[LadderStepSpec] = []
    pool: PoolSpec = PoolSpec()


class Plan(_Plan):
    schema_version: int = SCHEMA_VERSION
    ruleset: str
    title: str | None = None
    owner: str | None = None
    description: str | None = None
    timezone: str
    calendar: str
    fields: dict[str, str] = {}  # ruleset-declared customer attributes -> type
    policies: list[PolicySpec] = []
    segments: dict[str, Expr] = {}
    campaigns: list[CampaignSpec] = []
    journeys: list[JourneySpec] = []
    slas: list[SlaSpec] = []
    leads: list[LeadSpec] = []
    hash: str = ""

    def compute_hash(self) -> str:
        """The content hash over everything but the hash field itself."""
        return content_hash(self.model_dump(mode="json", exclude={"hash"}))

    def sealed(self) -> Plan:
        """A copy whose `hash` field is set to its content hash."""
        return self.model_copy(update={"hash": self.compute_hash()})

    def rule_names(self) -> list[str]:
        """Every rule's name, in plan order."""
        groups = (self.campaigns, self.journeys, self.slas, self.leads)
        return [rule.name for group in groups for rule in group]
