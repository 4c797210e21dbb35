"""Reconcile Temporal Schedules with the active plans (DESIGN.md data flow step 3).

One Schedule per scheduled campaign, id `contracts.schedule_id(ruleset, campaign)`, whose action
starts `CampaignRunWorkflow` with the campaign's plan fragment; Temporal names each run
`<schedule id>-<fire time>`, and the run, finding `root_run_id` empty, uses that workflow id
as its root (so outbox keys differ per fire and repeat within one). The spec is a calendar
in the plan's time zone. Overlap policy BUFFER_ONE: a daily audience (today's new dormant
customers) that skipped a fire because yesterday's huge run was still paging would lose those
customers for good, while buffering more than one would pile runs up behind a stuck one. A
local-time campaign (birthdays on each customer's clock, `dsl.local_time`) allows overlap
instead: its run lives until the last zone's slot, up to a day, and the next day's run must
start on time for the home zone; the two select different dates, so they never meet. The
catchup window is small (settings) so a server back after days does not send last week's
campaigns.

`reconcile` is idempotent and safe to race (N workers, the API and the CLI may run it): it
creates missing schedules, updates those whose fingerprint (plan hash, version, task queue,
shape) changed — keeping their paused state and note — and deletes schedules of campaigns that
left the active plan. Deletion only touches rulesets in `scope`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from dsl.plan import CampaignSpec
from dsl.plan import ScheduleSpec as PlanSchedule
from dsl.plan_ops import Plan
from runtime.contracts import CampaignRunInput, RuleRef, schedule_id

WORKFLOW = "CampaignRunWorkflow"
PREFIX = "campaign:"
SHAPE = "2"  # bump when the mapping below changes, so every schedule is rewritten once
_DOW = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


@dataclass
class Report:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def parse_id(sid: str) -> tuple[str, str] | None:
    """(ruleset, campaign) of a campaign schedule id, None for any other schedule."""
    parts = sid.split(":")
    return (parts[1], parts[2]) if len(parts) == 3 and parts[0] + ":" == PREFIX else None


def calendar(spec: PlanSchedule) -> ScheduleSpec:
    """The Temporal spec for a plan schedule: a calendar in the plan's time zone."""
    hour, minute = (int(x) for x in spec.at.split(":"))
    fields: dict = {"hour": [ScheduleRange(hour)], "minute": [ScheduleRange(minute)]}
    if spec.kind == "weekly":
        fields["day_of_week"] = [ScheduleRange(_DOW[d]) for d in spec.weekdays]
    elif spec.kind == "monthly":  # months without that day (31st) are skipped by Temporal
        fields["day_of_month"] = [ScheduleRange(spec.day_of_month or 1)]
    comment = describe(spec)
    return ScheduleSpec(
        calendars=[ScheduleCalendarSpec(**fields, comment=comment)],
        time_zone_name=spec.timezone,
    )


def describe(spec: PlanSchedule) -> str:
    """The schedule as people read it: "daily at 09:00 Asia/Shanghai"."""
    if spec.local_time:
        return f"{spec.kind} at {spec.at} in each customer's zone (run from {spec.timezone})"
    return f"{spec.kind} at {spec.at} {spec.timezone}"


def fingerprint(plan: Plan, version: int, task_queue: str, catchup_s: int) -> str:
    """What a schedule was built from; a schedule is rewritten when this changes."""
    raw = f"{SHAPE}|{plan.hash}|{version}|{task_queue}|{catchup_s}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def build(
    plan: Plan, version: int, spec: CampaignSpec, *, task_queue: str, catchup_s: int
) -> Schedule:
    """The schedule of one scheduled campaign of `plan` (version `version`)."""
    assert spec.schedule is not None
    rule = RuleRef(ruleset=plan.ruleset, version=version, plan_hash=plan.hash,
                   rule=spec.name, category=spec.category)  # fmt: skip
    run = CampaignRunInput(rule=rule, campaign=spec, root_run_id="", timezone=plan.timezone)
    memo = {"plan_hash": plan.hash, "ruleset_version": version,
            "fingerprint": fingerprint(plan, version, task_queue, catchup_s)}  # fmt: skip
    action = ScheduleActionStartWorkflow(
        WORKFLOW, run, id=schedule_id(plan.ruleset, spec.name), task_queue=task_queue, memo=memo,
        static_summary=f"{plan.ruleset}.{spec.name} v{version}",
    )  # fmt: skip
    overlap = ScheduleOverlapPolicy.BUFFER_ONE
    if spec.schedule.local_time:
        overlap = ScheduleOverlapPolicy.ALLOW_ALL
    policy = SchedulePolicy(overlap=overlap, catchup_window=timedelta(seconds=catchup_s))
    return Schedule(action=action, spec=calendar(spec.schedule), policy=policy)


async def _fingerprint_of(client: Client, sid: str) -> str | None:
    """The stored fingerprint, or None when the schedule does not exist."""
    try:
        description = await client.get_schedule_handle(sid).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    memo = getattr(description.schedule.action, "memo", None) or {}
    payload = memo.get("fingerprint")
    return client.data_converter.payload_converter.from_payload(payload, str) if payload else ""


async def _existing(client: Client) -> set[str]:
    # Visibility is eventually consistent: callers add the ids they know of as candidates.
    return {s.id async for s in await client.list_schedules() if parse_id(s.id)}


async def reconcile(
    client: Client,
    plans: Sequence[tuple[Plan, int]],
    *,
    task_queue: str,
    catchup_s: int = 3600,
    scope: Collection[str] | None = None,
    candidates: Iterable[str] = (),
) -> Report:
    """Make the campaign schedules of `scope` (all when None) match `plans` ((plan, version))."""
    report = Report()
    wanted: dict[str, Schedule] = {}
    prints: dict[str, str] = {}
    for plan, version in plans:
        for spec in plan.campaigns:
            if spec.schedule is not None:
                sid = schedule_id(plan.ruleset, spec.name)
                wanted[sid] = build(plan, version, spec, task_queue=task_queue, catchup_s=catchup_s)
                prints[sid] = fingerprint(plan, version, task_queue, catchup_s)
    for sid, schedule in wanted.items():
        current = await _fingerprint_of(client, sid)
        if current == prints[sid]:
            report.unchanged.append(sid)
            continue
        if current is None:
            try:
                await client.create_schedule(sid, schedule)
                report.created.append(sid)
                continue
            except ScheduleAlreadyRunningError:
                pass  # created by a concurrent reconcile since we looked: update it instead
        await client.get_schedule_handle(sid).update(_keep_state(schedule))
        report.updated.append(sid)
    for sid in sorted((await _existing(client) | set(candidates)) - wanted.keys()):
        parsed = parse_id(sid)
        if parsed is None or (scope is not None and parsed[0] not in scope):
            continue  # another ruleset's schedule: not this call's to delete
        try:
            await client.get_schedule_handle(sid).delete()
            report.deleted.append(sid)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
    return report


def _keep_state(schedule: Schedule) -> Callable[[ScheduleUpdateInput], ScheduleUpdate]:
    def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
        # An operator's pause (and its note) survives a new version of the plan.
        old = current.description.schedule.state
        state = ScheduleState(note=old.note, paused=old.paused)
        return ScheduleUpdate(Schedule(schedule.action, schedule.spec, schedule.policy, state))

    return update
