"""`runtime.schedules.reconcile` against a real Temporal dev server.

One Schedule per scheduled campaign with the calendar, time zone, policies (overlap allowed
only for a local-time campaign) and workflow input the plan implies; a second call changes
nothing; a new plan hash rewrites every schedule but keeps an operator's pause; campaigns that
left the plan (or a rollback to a version without them) lose their schedule; and a reconcile
scoped to one ruleset never touches another's.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from runtime_samples import variant
from temporalio.client import Client, ScheduleOverlapPolicy
from temporalio.service import RPCError, RPCStatusCode

from config.settings import TemporalSettings
from dsl.plan import ScheduleSpec as PlanSchedule
from dsl.plan_ops import Plan
from runtime import schedules
from runtime.contracts import CampaignRunInput, schedule_id
from runtime.temporal_client import connect

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _reconcile(client: Client, temporal: TemporalSettings, *plans, **kw):
    return await schedules.reconcile(
        client, list(plans), task_queue=temporal.task_queue, catchup_s=600, **kw
    )


def _ids(plan: Plan) -> list[str]:
    return sorted(schedule_id(plan.ruleset, c.name) for c in plan.campaigns if c.schedule)


async def _run_input(client: Client, sid: str) -> CampaignRunInput:
    description = await client.get_schedule_handle(sid).describe()
    payload = description.schedule.action.args[0]
    return client.data_converter.payload_converter.from_payload(payload, CampaignRunInput)


async def _exists(client: Client, sid: str) -> bool:
    try:
        await client.get_schedule_handle(sid).describe()
        return True
    except RPCError as exc:
        assert exc.status == RPCStatusCode.NOT_FOUND
        return False


def test_calendar_maps_daily_weekly_and_monthly() -> None:
    weekly = schedules.calendar(
        PlanSchedule(kind="weekly", at="10:30", weekdays=["tue", "thu"], timezone="Asia/Tokyo")
    )
    assert weekly.time_zone_name == "Asia/Tokyo"
    [spec] = weekly.calendars
    assert [r.start for r in spec.day_of_week] == [2, 4]
    assert ([r.start for r in spec.hour], [r.start for r in spec.minute]) == ([10], [30])
    monthly = schedules.calendar(
        PlanSchedule(kind="monthly", at="09:00", day_of_month=15, timezone="UTC")
    )
    assert [r.start for r in monthly.calendars[0].day_of_month] == [15]
    assert schedules.parse_id("campaign:retail:birthday") == ("retail", "birthday")
    assert schedules.parse_id("campaign:retail:birthday-2024") == ("retail", "birthday-2024")
    assert schedules.parse_id("other:schedule") is None


@pytest.mark.asyncio
async def test_creates_one_schedule_per_campaign_then_changes_nothing(temporal, plan) -> None:
    client = await connect(temporal)
    report = await _reconcile(client, temporal, (plan, 1), scope={plan.ruleset})
    assert sorted(report.created) == _ids(plan) and len(report.created) == 5
    sid = schedule_id(plan.ruleset, "birthday_greeting")
    description = await client.get_schedule_handle(sid).describe()
    schedule = description.schedule
    assert schedule.action.workflow == "CampaignRunWorkflow"
    assert schedule.action.id == sid and schedule.action.task_queue == temporal.task_queue
    assert schedule.spec.time_zone_name == "Asia/Shanghai"
    # Birthdays run on each customer's clock: a run lives up to a day, the next may overlap.
    assert schedule.policy.overlap == ScheduleOverlapPolicy.ALLOW_ALL
    assert schedule.policy.catchup_window == timedelta(seconds=600)
    local = [t.astimezone(SHANGHAI) for t in description.info.next_action_times[:3]]
    assert [(t.hour, t.minute) for t in local] == [(9, 0)] * 3  # daily at 09:00, Shanghai
    assert len({t.date() for t in local}) == 3
    run = await _run_input(client, sid)
    assert run.rule.plan_hash == plan.hash and run.rule.version == 1
    assert run.campaign == next(c for c in plan.campaigns if c.name == "birthday_greeting")
    assert run.root_run_id == ""  # the run takes its own (fire-time) workflow id as root
    dormant = client.get_schedule_handle(schedule_id(plan.ruleset, "dormant_callback"))
    described = await dormant.describe()
    weekly = described.info.next_action_times[0].astimezone(SHANGHAI)
    assert (weekly.weekday(), weekly.hour) == (0, 10)  # monday at 10:00
    assert described.schedule.policy.overlap == ScheduleOverlapPolicy.BUFFER_ONE

    again = await _reconcile(client, temporal, (plan, 1), scope={plan.ruleset})
    assert again.created == again.updated == again.deleted == []
    assert sorted(again.unchanged) == _ids(plan)


@pytest.mark.asyncio
async def test_new_hash_rewrites_schedules_and_keeps_a_pause(temporal, plan) -> None:
    client = await connect(temporal)
    await _reconcile(client, temporal, (plan, 1), scope={plan.ruleset})
    sid = schedule_id(plan.ruleset, "birthday_greeting")
    await client.get_schedule_handle(sid).pause(note="paused by mo.li")
    later = [
        c.model_copy(update={"schedule": c.schedule.model_copy(update={"at": "10:15"})})
        if c.name == "birthday_greeting" else c
        for c in plan.campaigns
    ]  # fmt: skip
    v2 = variant(plan, campaigns=later)
    report = await _reconcile(client, temporal, (v2, 2), scope={plan.ruleset})
    assert sorted(report.updated) == _ids(plan)  # every run input names the new hash
    description = await client.get_schedule_handle(sid).describe()
    assert description.schedule.state.paused is True
    assert description.schedule.state.note == "paused by mo.li"
    calendar = description.schedule.spec.calendars[0]
    assert ([r.start for r in calendar.hour], [r.start for r in calendar.minute]) == ([10], [15])
    run = await _run_input(client, sid)
    assert (run.rule.version, run.rule.plan_hash) == (2, v2.hash)


@pytest.mark.asyncio
async def test_removed_campaigns_lose_their_schedule_and_rollback_restores(temporal, plan):
    client = await connect(temporal)
    await _reconcile(client, temporal, (plan, 1), scope={plan.ruleset})
    kept = [c for c in plan.campaigns if c.name not in ("dormant_callback", "credit_limit_raise")]
    v2 = variant(plan, campaigns=kept)
    report = await _reconcile(
        client, temporal, (v2, 2), scope={plan.ruleset}, candidates=_ids(plan)
    )
    gone = sorted(schedule_id(plan.ruleset, n) for n in ("credit_limit_raise", "dormant_callback"))
    assert report.deleted == gone
    assert [await _exists(client, sid) for sid in gone] == [False, False]
    assert all([await _exists(client, sid) for sid in _ids(v2)])

    rollback = await _reconcile(client, temporal, (plan, 1), scope={plan.ruleset})
    assert sorted(rollback.created) == gone and len(rollback.updated) == 3


@pytest.mark.asyncio
async def test_a_scoped_reconcile_leaves_other_rulesets_alone(temporal, plan) -> None:
    client = await connect(temporal)
    other = variant(plan, ruleset=plan.ruleset + "_other")
    await _reconcile(client, temporal, (plan, 1), (other, 1), scope={plan.ruleset, other.ruleset})
    emptied = variant(plan, campaigns=[])
    report = await _reconcile(
        client, temporal, (emptied, 2), scope={plan.ruleset}, candidates=_ids(plan) + _ids(other)
    )
    assert sorted(report.deleted) == _ids(plan)
    assert all([await _exists(client, sid) for sid in _ids(other)])
