"""Workflow ids, task queue names and the payloads crossing the Temporal boundary.

Every payload is a pydantic model (the worker and clients use Temporal's pydantic data
converter). A payload names customers only by id; names, phones and addresses are read inside
activities and never enter workflow history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from dsl.plan import CampaignSpec, JourneySpec, TaskStep
from dsl.plan_ops import LeadSpec


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RuleRef(_Payload):
    """Which rule of which approved ruleset version an action belongs to (for audit and why)."""

    ruleset: str
    version: int
    plan_hash: str
    rule: str
    category: str = "marketing"


def schedule_id(ruleset: str, campaign: str) -> str:
    """The Temporal Schedule of one scheduled campaign."""
    return f"campaign:{ruleset}:{campaign}"


def campaign_run_id(ruleset: str, campaign: str, run_key: str) -> str:
    """One run of a campaign; `run_key` is the scheduled fire time or a manual trigger key."""
    return f"campaign:{ruleset}:{campaign}:{run_key}"


def journey_id(ruleset: str, journey: str, customer_id: str) -> str:
    return f"journey:{ruleset}:{journey}:{customer_id}"


def task_workflow_id(task_key: str) -> str:
    return f"task:{task_key}"


def ticket_workflow_id(ticket_id: str) -> str:
    """The TicketSLAWorkflow of one ticket (added by the service desk track)."""
    return f"ticket:{ticket_id}"


def root_run_id_of(input_root_run_id: str, workflow_id: str) -> str:
    """The root run id of a run: its input's, or its own workflow id when a schedule started it."""
    return input_root_run_id or workflow_id


def idempotency_key(root_run_id: str, step: str, customer_id: str) -> str:
    """The outbox key of one effect: unique per run, step and customer (DESIGN.md step 5)."""
    return f"{root_run_id}|{step}|{customer_id}"


class CampaignRunInput(_Payload):
    rule: RuleRef
    campaign: CampaignSpec  # the plan fragment this run is pinned to
    # The top-level run's workflow id: idempotency keys derive from it. EMPTY in the input a
    # Temporal Schedule starts (`runtime.schedules`): the schedule cannot know the id Temporal
    # gives each fire (`<schedule id>-<fire time>`), so the run must use
    # `input.root_run_id or workflow.info().workflow_id` (see `root_run_id_of`).
    root_run_id: str
    timezone: str
    page_size: int = 500
    partition_threshold: int = 50_000  # audiences above this split into child workflows
    partitions: int = 4
    id_low: str | None = None  # exclusive lower bound of this partition's customer ids
    id_high: str | None = None  # inclusive upper bound
    # Carried across continue-as-new:
    after_id: str | None = None
    pages_done: int = 0
    counts: dict[str, int] = {}
    paused: bool = False
    is_partition: bool = False
    # Added by the campaign track (defaults keep older inputs and histories valid):
    as_of: datetime | None = None  # the root run's fire time, fixed for every page and partition
    stage: str = "start"  # start | partitioned | pages | deferred (see workflows.campaign_run)
    deferred_until: datetime | None = None  # earliest due time of this run's deferred sends
    deferred_key: str | None = None  # keyset cursor of a pass over the deferred sends
    pages_per_run: int = 200  # pages between continue-as-new (about 6 history events each)
    calendar: str = "CN"  # the ruleset's business calendar: task deadlines of `task` actions


class JourneyInput(_Payload):
    rule: RuleRef
    journey: JourneySpec
    customer_id: str
    event_id: int  # the triggering event row; its payload is read by activities
    timezone: str
    # Added by track C (journeys): business calendar for business-time waits and tasks, and
    # state carried across continue-as-new (yearly repeats, reentry holds).
    calendar: str = "CN"
    cycle: int = 0  # 0 = the entry run; n = the nth yearly repeat
    anchor: datetime | None = None  # when the trigger occurred: yearly repeats count from it
    hold_until: datetime | None = None  # set: this run only holds off reentry until then


class EventSignal(_Payload):
    """An event delivered to a running journey (signal-with-start on ingest)."""

    event_id: int
    type: str


class TaskInput(_Payload):
    rule: RuleRef
    task: TaskStep
    task_id: int  # the `task` row the activity created
    customer_id: str
    calendar: str
    timezone: str
    # Added by track C: the deadline the creating activity computed on the business calendar,
    # and the status carried across continue-as-new (open, escalated, overdue).
    due_at: datetime | None = None
    status: str = "open"


# Added by track F (leads): one LeadFollowUpWorkflow per lead, started by `POST /v1/leads`.
LEAD_QUERY = "lead_state"  # answers LeadView
LEAD_UPDATES = ("contact", "convert", "disqualify", "claim", "release")  # take LeadCommand
LEAD_REFUSED = "LeadActionRefused"  # ApplicationError type of a refused update (details: a dict)


def lead_workflow_id(lead_id: str) -> str:
    return f"lead:{lead_id}"


class LadderAt(_Payload):
    """When one overdue-ladder step fires unless the owner makes contact first."""

    at: datetime
    step: int  # index into LeadSpec.overdue; -1 is the `first_contact ... otherwise` action


class LeadState(_Payload):
    """A lead's ownership and clock as stored after the workflow's last action (ids only)."""

    lead_id: str
    stage: Literal["owned", "pool", "closed"]
    status: str
    owner: str | None = None
    version: int = 0
    cycle: int = 0
    reassignments: int = 0
    assigned_at: datetime | None = None
    due_kind: Literal["first_contact", "follow_up"] | None = None
    due_at: datetime | None = None
    ladder: list[LadderAt] = []
    ownership_ends_at: datetime | None = None
    previous_owner: str | None = None
    released_at: datetime | None = None


class LeadInput(_Payload):
    rule: RuleRef
    lead: LeadSpec  # the plan fragment this lead's follow-up is pinned to
    lead_id: str
    timezone: str
    created_at: datetime  # the first assignment's time: its first-contact deadline counts from it
    actions_per_run: int = 200  # activity calls before continue-as-new
    # Carried across continue-as-new:
    state: LeadState | None = None
    ladder_done: int = 0  # steps of state.ladder already taken
    seq: int = 0  # actions so far: each action's idempotency key is `<workflow id>|<seq>`


class LeadCommand(_Payload):
    """A person's action on a lead, sent as the update of the same name."""

    actor: str
    role: str
    reason: str | None = None  # a short reason (disqualify, release): no personal data
    outcome: Literal["lost", "invalid"] | None = None  # disqualify only


class LeadView(_Payload):
    """The live answer of the `lead_state` query."""

    state: LeadState | None  # None until the first assignment is done
    next_step: int = 0  # index into state.ladder of the next step to take
    next_at: datetime | None = None  # when the workflow acts next unless someone acts first
    owner_until: datetime | None = None  # when the owner loses the lead unless they act
