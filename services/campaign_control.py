"""Campaign control on Temporal: start, pause, resume, stop, trigger, and the live state.

Runs are `CampaignRunWorkflow` executions. A scheduled or triggered run is named by Temporal
(`<schedule id>-<fire time>`, search attribute `TemporalScheduledById`); a manual start is
`contracts.campaign_run_id(ruleset, campaign, "manual-<key>")`, where the key is the client's
`Idempotency-Key` or, without one, the day in the plan's time zone: the same start twice is
one run (REJECT_DUPLICATE id reuse, even once it finished), and without a key a campaign is
started by hand at most once a day. Pause and resume act on the schedule and signal every
running root run (the run forwards them to its partitions and honours them between pages);
stop signals `stop`, which the run obeys between pages and ends as "stopped" (a clean end,
unlike a cancel in the middle of a page). All of them are idempotent.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from temporalio.client import Client, ScheduleOverlapPolicy, WorkflowExecutionStatus
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from runtime.contracts import CampaignRunInput, campaign_run_id
from services.campaigns import ActiveCampaign
from services.errors import ConflictError

WORKFLOW = "CampaignRunWorkflow"
QUERY_TIMEOUT = timedelta(seconds=2)  # a run whose worker is down answers no query
RETRIGGER_GUARD = timedelta(seconds=60)  # a local-time trigger this soon after a fire: a repeat
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def run_key(campaign: ActiveCampaign, idempotency_key: str | None, now: datetime) -> str:
    """The manual run key: from the client's key, else today's date in the plan's time zone."""
    if idempotency_key is None:
        return "manual-" + now.astimezone(ZoneInfo(campaign.plan.timezone)).strftime("%Y%m%d")
    if _SAFE_KEY.match(idempotency_key):
        return "manual-" + idempotency_key
    # Any other key (long, or with characters ids should not carry) is used by its digest.
    return "manual-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


async def start(client: Client, campaign: ActiveCampaign, key: str, task_queue: str) -> dict:
    """Start run `key` unless it exists; {"workflow_id", "run_id", "created"}."""
    plan, spec = campaign.plan, campaign.spec
    workflow_id = campaign_run_id(plan.ruleset, spec.name, key)
    run = CampaignRunInput(rule=campaign.rule(), campaign=spec, root_run_id=workflow_id,
                           timezone=plan.timezone, as_of=datetime.now(UTC))  # fmt: skip
    try:
        handle = await client.start_workflow(
            WORKFLOW, run, id=workflow_id, task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"{campaign.id} v{campaign.version} (manual)",
        )  # fmt: skip
    except WorkflowAlreadyStartedError as exc:
        return {"workflow_id": workflow_id, "run_id": exc.run_id, "created": False}
    return {"workflow_id": workflow_id, "run_id": handle.first_execution_run_id, "created": True}


def _runs_query(campaign: ActiveCampaign, *, running: bool) -> str:
    sid = campaign.schedule_id  # ids are [A-Za-z0-9_:.-]: nothing to escape
    query = (
        f'WorkflowType = "{WORKFLOW}" AND ParentWorkflowId IS NULL AND '
        f'(TemporalScheduledById = "{sid}" OR WorkflowId STARTS_WITH "{sid}:")'
    )
    return query + (' AND ExecutionStatus = "Running"' if running else "")


async def recent_runs(client: Client, campaign: ActiveCampaign, limit: int = 5) -> list[dict]:
    """The campaign's latest root runs, newest first (visibility: eventually consistent)."""
    return [
        {"workflow_id": w.id, "run_id": w.run_id, "status": w.status.name.lower() if w.status
         else None, "started_at": w.start_time, "closed_at": w.close_time}
        async for w in client.list_workflows(_runs_query(campaign, running=False), limit=limit)
    ]  # fmt: skip


async def running_runs(client: Client, campaign: ActiveCampaign) -> list[str]:
    """Workflow ids of the campaign's running root runs."""
    ids = {w.id async for w in client.list_workflows(_runs_query(campaign, running=True))}
    schedule = await _describe_schedule(client, campaign)
    if schedule is not None:  # consistent at once, unlike visibility
        ids |= {a.workflow_id for a in schedule.info.running_actions}
    return sorted(ids)


async def schedule_states(client: Client, found: list[ActiveCampaign]) -> dict[str, str]:
    """Campaign id -> scheduled | paused | pending | unscheduled, from one schedule listing."""
    listed = {s.id: s async for s in await client.list_schedules()}
    states = {}
    for campaign in found:
        entry = listed.get(campaign.schedule_id)
        if campaign.spec.schedule is None:
            states[campaign.id] = "unscheduled"
        elif entry is None or entry.schedule is None:
            states[campaign.id] = "pending"  # not created yet, or not yet visible
        else:
            states[campaign.id] = "paused" if entry.schedule.state.paused else "scheduled"
    return states


async def _describe_schedule(client: Client, campaign: ActiveCampaign):
    try:
        return await client.get_schedule_handle(campaign.schedule_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def _signal_all(client: Client, ids: list[str], signal: str) -> list[str]:
    async def one(workflow_id: str) -> str | None:
        try:
            await client.get_workflow_handle(workflow_id).signal(signal)
            return workflow_id
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:  # finished since we listed it
                return None
            raise

    return [w for w in await asyncio.gather(*(one(i) for i in ids)) if w]


async def control(client: Client, campaign: ActiveCampaign, action: str, note: str) -> dict:
    """Apply pause | resume | stop | trigger; {"schedule": ..., "signalled": [...]}."""
    handle = client.get_schedule_handle(campaign.schedule_id)
    scheduled = campaign.spec.schedule is not None
    if action == "trigger":
        described = await _describe_schedule(client, campaign) if scheduled else None
        if described is None:
            raise ConflictError(f"{campaign.id} has no schedule to trigger; use start")
        return {"schedule": await _trigger(handle, campaign, described), "signalled": []}
    result: dict[str, Any] = {"schedule": None, "signalled": []}
    if action in ("pause", "resume") and scheduled:
        try:
            await (handle.pause(note=note) if action == "pause" else handle.unpause(note=note))
            result["schedule"] = "paused" if action == "pause" else "active"
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:  # not reconciled yet: runs still obey
                raise
    result["signalled"] = await _signal_all(client, await running_runs(client, campaign), action)
    return result


async def _trigger(handle: Any, campaign: ActiveCampaign, described: Any) -> str:
    """Fire the schedule now, once: "triggered", or why it did not fire again."""
    schedule = campaign.spec.schedule
    if schedule is None or not schedule.local_time:
        # SKIP: a trigger while a run is in flight (a double click) does not queue a second.
        await handle.trigger(overlap=ScheduleOverlapPolicy.SKIP)
        return "triggered"
    # A local-time run lives until its last zone's slot, most of a day: SKIP would make the
    # trigger a silent no-op. Overlap is allowed, and a double click is caught by age instead.
    now = datetime.now(UTC)
    if any(now - a.started_at < RETRIGGER_GUARD for a in described.info.recent_actions):
        return "already triggered"
    await handle.trigger(overlap=ScheduleOverlapPolicy.ALLOW_ALL)
    return "triggered"


async def _progress(client: Client, workflow_id: str) -> Any:
    try:
        handle = client.get_workflow_handle(workflow_id)
        return await handle.query("progress", rpc_timeout=QUERY_TIMEOUT)
    except Exception:  # no worker, or the run just closed: progress is unknown, not an error
        return None


def _action(result: Any) -> dict:
    workflow_id = getattr(result.action, "workflow_id", None)
    return {"scheduled_at": result.scheduled_at, "started_at": result.started_at,
            "workflow_id": workflow_id}  # fmt: skip


async def describe(client: Client, campaign: ActiveCampaign) -> dict:
    """State, schedule, recent and running runs (with live progress) of a campaign."""
    description, runs = await asyncio.gather(
        _describe_schedule(client, campaign), recent_runs(client, campaign)
    )
    running_ids = await running_runs(client, campaign)
    progress = await asyncio.gather(*(_progress(client, w) for w in running_ids))
    schedule = None
    if description is not None:
        state, info = description.schedule.state, description.info
        schedule = {
            "id": campaign.schedule_id,
            "spec": [c.comment for c in description.schedule.spec.calendars],
            "paused": state.paused,
            "note": state.note,
            "next_runs": list(info.next_action_times[:5]),
            "recent_actions": [_action(a) for a in reversed(info.recent_actions)],
        }
    if running_ids:
        state_name = "running"
    elif campaign.spec.schedule is None:
        state_name = "unscheduled"
    elif schedule is None:
        state_name = "pending"  # activation's reconcile has not created the schedule yet
    else:
        state_name = "paused" if schedule["paused"] else "scheduled"
    closed = [r for r in runs if r["status"] != WorkflowExecutionStatus.RUNNING.name.lower()]
    return {
        "state": state_name,
        "schedule": schedule,
        "next_run": schedule["next_runs"][0] if schedule and schedule["next_runs"] else None,
        "last_run": closed[0] if closed else None,
        "recent_runs": runs,
        "running": [
            {"workflow_id": w, "progress": p} for w, p in zip(running_ids, progress, strict=True)
        ],
    }
