"""The typed activity registry of a campaign run: each activity's name, input and result.

`CampaignRunWorkflow` calls its activities by these names and `activities.campaign` registers
them under the same names, so neither side imports the other (workflows do no I/O and never
import storage). Every payload names customers by id range only: a page result says how far
the page got and what happened, never who was in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from dsl.plan import CampaignSpec
from runtime.contracts import RuleRef

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out")

COUNT_KEYS = ("selected", "sent", "suppressed", "failed", "duplicates", "deferred", "tasks")


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AudienceRequest(_Payload):
    """The audience of one run (or one partition of it) as of the run's fire time."""

    rule: RuleRef
    campaign: CampaignSpec
    root_run_id: str
    timezone: str
    as_of: datetime  # the fire time: `is today` and `... ago` mean the same on every page
    calendar: str = "CN"  # business calendar for the deadlines of `task` actions
    id_low: str | None = None  # exclusive
    id_high: str | None = None  # inclusive


class CountRequest(_Payload):
    audience: AudienceRequest
    up_to: int  # counting stops here: the run only needs to know if it must partition


class BoundsRequest(_Payload):
    audience: AudienceRequest
    partitions: int


class PageRequest(_Payload):
    audience: AudienceRequest
    after_id: str | None  # keyset cursor: the last customer id of the previous page
    page_size: int
    now: datetime  # the workflow's time at this page: quiet hours are decided against it


class DeferredRequest(_Payload):
    audience: AudienceRequest
    after_key: str | None  # keyset cursor over this run's deferred outbox keys
    page_size: int
    now: datetime


class PageResult(_Payload):
    cursor: str | None  # where the next page starts (customer id or outbox key)
    counts: dict[str, int] = {}
    deferred_until: datetime | None = None  # earliest time a deferred send may go out
    done: bool = False


@dataclass(frozen=True)
class ActivityRef(Generic[In, Out]):
    """An activity's registered name with its input and result types."""

    name: str
    input: type[In]
    result: type[Out]


COUNT_AUDIENCE = ActivityRef("campaign.count_audience", CountRequest, int)
PARTITION_BOUNDS = ActivityRef("campaign.partition_bounds", BoundsRequest, list)
DELIVER_PAGE = ActivityRef("campaign.deliver_page", PageRequest, PageResult)
DELIVER_DEFERRED = ActivityRef("campaign.deliver_deferred", DeferredRequest, PageResult)

Stage = Literal["start", "partitioned", "pages", "deferred", "done", "stopped"]


class PartitionStatus(_Payload):
    workflow_id: str
    id_low: str | None
    id_high: str | None
    status: Literal["running", "completed", "stopped", "failed"] = "running"
    pages: int = 0
    counts: dict[str, int] = {}


class PartitionProgress(_Payload):
    """A child partition's running totals, signalled to its parent at each continue-as-new."""

    workflow_id: str
    pages: int
    counts: dict[str, int]


class CampaignProgress(_Payload):
    """What the `progress` query answers: the run's totals including its partitions."""

    stage: Stage
    pages: int
    counts: dict[str, int]
    paused: bool
    stopped: bool
    deferred_until: datetime | None = None
    partitions: list[PartitionStatus] = []


class CampaignRunResult(_Payload):
    status: Literal["completed", "stopped"]
    pages: int
    counts: dict[str, int]


def add_counts(total: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    """`total` plus `more`, key by key (a new dict; payload dicts are never mutated)."""
    merged = dict(total)
    for key, value in more.items():
        merged[key] = merged.get(key, 0) + value
    return merged
