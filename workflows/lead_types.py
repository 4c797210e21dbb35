"""The typed activity registry of a lead's follow-up: assign, act on a deadline, apply an action.

`LeadFollowUpWorkflow` calls activities by these names and `activities.leads` registers them
under the same names. Every request names the lead by id, carries the workflow's time `at` (a
deadline the workflow met exactly, or `workflow.now()`), the rule fragment, and an idempotency
key unique per workflow action: the activity writes its ledger row under that key in the same
transaction as the change, so a retried attempt finds its own row and answers with the stored
state instead of acting twice. Answers are `LeadState`s: ids, owners' user names and times.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict
from temporalio.common import RetryPolicy

from dsl.plan_ops import LeadSpec
from runtime.contracts import LeadCommand, LeadState, RuleRef
from workflows.journey_types import ActivityRef

Action = Literal["contact", "convert", "disqualify", "claim", "release"]
# A person waits on an action (an update): a few quick attempts, then the update fails
# (the transaction rolled back every time) instead of hanging the request.
ACT_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=4,
)


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LeadRequest(_Payload):
    rule: RuleRef
    spec: LeadSpec
    lead_id: str
    timezone: str
    at: datetime
    key: str


class AssignRequest(LeadRequest):
    """Give a new lead its first owner (or the pool, when no member can take it)."""


class DeadlineRequest(LeadRequest):
    """A timer of the state with this `version` fired: take the ladder step, or end ownership."""

    version: int
    kind: Literal["ladder", "ownership"]
    step: int | None = None  # LadderAt.step of a ladder timer


class ActRequest(LeadRequest):
    """A person's action, checked and applied atomically (refused: LEAD_REFUSED error)."""

    action: Action
    command: LeadCommand


ASSIGN = ActivityRef("lead.assign", AssignRequest, LeadState)
DEADLINE = ActivityRef("lead.deadline", DeadlineRequest, LeadState)
ACT = ActivityRef("lead.act", ActRequest, LeadState, timedelta(seconds=15), ACT_RETRY)
