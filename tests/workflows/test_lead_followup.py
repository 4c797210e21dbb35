"""LeadFollowUpWorkflow on the time-skipping server with a real SQLite database.

A lead nobody contacts walks its whole ladder and lands in the pool at exactly the time its
rule says (hour ladder, the shipped `otherwise` rule, and the shipped business-day rule on the
CN calendar); a contact resets the cadence; convert and disqualify end the follow-up; the
pool's cooldown refuses the previous owner with the time it ends while another member claims;
the ownership window returns a lead on time; state survives continue-as-new.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from calendars import get_calendar
from dsl.plan import DurationSpec
from runtime.contracts import LEAD_REFUSED, LeadCommand, LeadState
from tests.workflows.lead_support import (
    activate,
    corporate,
    keep_history,
    lead_env,
    lead_row,
    lead_worker,
    ledger,
    open_lead,
    sme,
    tasks,
    team,
    view,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
_ = lead_env  # a fixture: the time-skipping server of these tests (tests/workflows/lead_support.py)
HOURLY = """ruleset hourly_leads
  title "Hourly ladder"
  timezone "Asia/Shanghai"
  calendar CN

lead hotline
  applies to lead where lead.source == "hotline"
  assign by_load in team "desk-rm"
  first_contact within 4 hours
  follow_up every 2 days
  overdue
    after 1 hour: remind owner
    after 2 hours: escalate to manager
    after 3 hours: reassign at_most 1 times then return to pool
  pool
    keep level 3 for 10 hours
    release 1 day after lead.contract_end_on
    cooldown 3 days
    claim at_most 2 per day
    hold at_most 3
"""
H = timedelta(hours=1)


def rm(name: str, role: str = "sales", **kw) -> LeadCommand:
    return LeadCommand(actor=name, role=role, **kw)


async def now_of(env: WorkflowEnvironment) -> datetime:
    # Whole seconds: the ledger stores what the workflow computed from this instant.
    return (await env.get_current_time()).replace(microsecond=0)


async def hotline(
    lead_env,
    task_queue: str,
    factory,
    lead_id: str,
    at: datetime,
    *,
    actions_per_run: int | None = None,
    **fields: Any,
) -> WorkflowHandle:
    """Open corporate lead `lead_id` from the hotline (rule `hotline` of `HOURLY`) at `at`."""
    lead = corporate(lead_id, source="hotline", **fields)
    return await open_lead(lead_env.client, factory, task_queue, lead, at, actions_per_run)


async def test_unworked_lead_walks_the_whole_ladder_into_the_pool_on_time(
    lead_env, task_queue, session_factory, update_goldens
):
    activate(session_factory, HOURLY)
    team(session_factory, "desk-rm", {"amy": None, "bob": None}, manager="meg")
    t0 = await now_of(lead_env)
    async with lead_worker(lead_env.client, task_queue, session_factory):
        handle = await hotline(lead_env, task_queue, session_factory, "H1", t0)
        await lead_env.sleep(6 * H + timedelta(minutes=30))
        live = await view(handle)
        assert live.state.owner == "amy"
        assert live.owner_until == t0 + 7 * H  # the reassign step takes it from amy
        await lead_env.sleep(8 * H)
        live = await view(handle)
        await keep_history(handle, "lead_hourly_ladder_to_pool", update_goldens)
    assert ledger(session_factory, "H1") == [
        ("created", None, t0),
        ("assigned", "amy", t0),
        ("reminded", None, t0 + 5 * H),
        ("escalated", None, t0 + 6 * H),
        ("reassigned", "bob", t0 + 7 * H),
        ("reminded", None, t0 + 12 * H),
        ("escalated", None, t0 + 13 * H),
        ("returned", "bob", t0 + 14 * H),
    ]
    lead = lead_row(session_factory, "H1")
    assert (lead.owner, lead.previous_owner, lead.released_at) == (None, "bob", t0 + 14 * H)
    assert live.state.stage == "pool" and live.next_at is None
    assert tasks(session_factory, "H1") == [
        ("lead_reminder", "amy", "withdrawn"),  # closed when the lead moved on
        ("lead_escalation", "meg", "withdrawn"),
        ("lead_reminder", "bob", "withdrawn"),
        ("lead_escalation", "meg", "withdrawn"),
    ]


async def test_shipped_otherwise_rule_reassigns_twice_in_region_then_pools_at_72_hours(
    lead_env, task_queue, session_factory, update_goldens
):
    activate(session_factory)
    team(
        session_factory,
        "corporate-rm",
        {"ann": "EAST", "ben": "EAST", "cal": "EAST", "wes": "WEST"},
    )
    t0 = await now_of(lead_env)
    async with lead_worker(lead_env.client, task_queue, session_factory):
        handle = await open_lead(lead_env.client, session_factory, task_queue, corporate("C1"), t0)
        await lead_env.sleep(71 * H)
        live = await view(handle)
        assert (live.state.owner, live.state.reassignments) == ("cal", 2)
        assert live.owner_until == t0 + 72 * H
        await lead_env.sleep(2 * H)
        await keep_history(handle, "lead_otherwise_to_pool", update_goldens)
    # Round robin among the lead's region only; the pool at exactly 3 x 24 hours.
    assert ledger(session_factory, "C1") == [
        ("created", None, t0),
        ("assigned", "ann", t0),
        ("reassigned", "ben", t0 + 24 * H),
        ("reassigned", "cal", t0 + 48 * H),
        ("returned", "cal", t0 + 72 * H),
    ]
    assert lead_row(session_factory, "C1").released_at == t0 + 72 * H


async def test_shipped_business_day_ladder_lands_in_the_pool_on_the_cn_calendar(
    lead_env, task_queue, session_factory
):
    activate(session_factory)
    team(session_factory, "sme-rm", {"sid": "EAST", "sue": "WEST"}, manager="sam")
    t0 = await now_of(lead_env)
    cal, tz = get_calendar("CN"), "Asia/Shanghai"

    def plus(start: datetime, days: int) -> datetime:
        return cal.add(start, DurationSpec(amount=days, unit="day", business=True), tz=tz)

    due1 = plus(t0, 2)
    moved = plus(due1, 5)  # reassigned to the other member
    due2 = plus(moved, 2)
    pooled = plus(due2, 15)
    async with lead_worker(lead_env.client, task_queue, session_factory):
        handle = await open_lead(lead_env.client, session_factory, task_queue, sme("S1"), t0)
        await lead_env.sleep(pooled - t0 - H)
        live = await view(handle)
        assert live.state.owner == "sue"
        assert live.owner_until == pooled
        await lead_env.sleep(2 * H)
    assert ledger(session_factory, "S1") == [
        ("created", None, t0),
        ("assigned", "sid", t0),
        ("reminded", None, plus(due1, 2)),
        ("reassigned", "sue", moved),
        ("reminded", None, plus(due2, 2)),
        # after 5 business days: `reassign at_most 1 times` has no turn left and no pool: kept
        ("escalated", None, plus(due2, 10)),
        ("returned", "sue", pooled),
    ]
    assert tasks(session_factory, "S1") == [
        ("lead_reminder", "team:sme-rm", "withdrawn"),
        ("lead_reminder", "team:sme-rm", "withdrawn"),
        ("lead_escalation", "sme-banking-head", "withdrawn"),
    ]


async def test_contact_restarts_the_cadence_and_a_missed_follow_up_walks_the_ladder(
    lead_env, task_queue, session_factory
):
    activate(session_factory, HOURLY)
    team(session_factory, "desk-rm", {"amy": None, "bob": None}, manager="meg")
    t0 = await now_of(lead_env)
    async with lead_worker(lead_env.client, task_queue, session_factory):
        handle = await hotline(lead_env, task_queue, session_factory, "H2", t0)
        await lead_env.sleep(H)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update("contact", rm("bob"), result_type=LeadState)
        assert refused.value.cause.details[0]["code"] == "not_owner"
        state = await handle.execute_update("contact", rm("amy"), result_type=LeadState)
        contacted = ledger(session_factory, "H2")[-1]
        assert contacted[:2] == ("contacted", "amy")
        at = contacted[2]
        assert (state.status, state.due_kind, state.due_at) == (
            "contacted",
            "follow_up",
            at + timedelta(days=2),
        )
        await lead_env.sleep(timedelta(days=2) + 4 * H)
    steps = ledger(session_factory, "H2")[3:]
    assert steps == [
        ("reminded", None, at + timedelta(days=2) + H),
        ("escalated", None, at + timedelta(days=2) + 2 * H),
        ("reassigned", "bob", at + timedelta(days=2) + 3 * H),
    ]


async def test_convert_and_disqualify_end_the_follow_up(
    lead_env, task_queue, session_factory, update_goldens
):
    activate(session_factory, HOURLY)
    team(session_factory, "desk-rm", {"amy": None, "bob": None})
    t0 = await now_of(lead_env)
    async with lead_worker(lead_env.client, task_queue, session_factory):
        won = await hotline(lead_env, task_queue, session_factory, "W1", t0)
        lost = await hotline(lead_env, task_queue, session_factory, "W2", t0)
        await lead_env.sleep(H)
        await won.execute_update("convert", rm("amy"), result_type=LeadState)
        admin = rm("ada", "admin", outcome="invalid", reason="duplicate")
        await lost.execute_update("disqualify", admin, result_type=LeadState)
        results = [await won.result(), await lost.result()]
        await keep_history(lost, "lead_disqualified_by_admin", update_goldens)
    assert [(r.stage, r.status, r.owner) for r in results] == [
        ("closed", "won", "amy"),
        ("closed", "invalid", "bob"),
    ]
    assert lead_row(session_factory, "W2").closed_at is not None
    assert [row[0] for row in ledger(session_factory, "W2")] == [
        "created",
        "assigned",
        "disqualified",
    ]


async def test_claim_inside_the_cooldown_is_refused_naming_its_end(
    lead_env, task_queue, session_factory, update_goldens
):
    activate(session_factory, HOURLY)
    team(session_factory, "desk-rm", {"amy": None, "bob": None})
    t0 = await now_of(lead_env)
    async with lead_worker(lead_env.client, task_queue, session_factory):
        handle = await hotline(lead_env, task_queue, session_factory, "P1", t0)
        await lead_env.sleep(H)
        released = await handle.execute_update("release", rm("amy"), result_type=LeadState)
        assert (released.stage, released.previous_owner) == ("pool", "amy")
        await lead_env.sleep(2 * timedelta(days=1))
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update("claim", rm("amy"), result_type=LeadState)
        cause = refused.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == LEAD_REFUSED
        ends = released.released_at + timedelta(days=3)
        assert cause.details[0] == {"code": "cooldown", "status": 409, "until": ends.isoformat()}
        local = ends.astimezone(ZoneInfo("Asia/Shanghai")).isoformat(timespec="minutes")
        assert f"from {local}" in cause.message
        claimed = await handle.execute_update("claim", rm("bob"), result_type=LeadState)
        assert claimed.owner == "bob" and claimed.due_at == claimed.assigned_at + 4 * H
        await keep_history(handle, "lead_cooldown_refused_then_claimed", update_goldens)
    assert [row[:2] for row in ledger(session_factory, "P1")][-2:] == [
        ("released", "amy"),
        ("claimed", "bob"),
    ]


async def test_ownership_window_and_release_date_return_leads_on_time(
    lead_env, task_queue, session_factory
):
    activate(session_factory, HOURLY)
    team(session_factory, "desk-rm", {"amy": None})
    t0 = await now_of(lead_env)
    tz = ZoneInfo("Asia/Shanghai")
    today = t0.astimezone(tz).date()
    release = datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz)
    async with lead_worker(lead_env.client, task_queue, session_factory):
        kept = await hotline(lead_env, task_queue, session_factory, "K1", t0, customer_level=3)
        ending = await hotline(
            lead_env, task_queue, session_factory, "K2", t0, contract_end_on=today
        )
        await lead_env.sleep(H / 2)
        for handle in (kept, ending):
            await handle.execute_update("contact", rm("amy"), result_type=LeadState)
        assert (await view(kept)).owner_until == t0 + 10 * H
        await lead_env.sleep(max(release - t0, 10 * H) + H)
    assert ledger(session_factory, "K1")[-1] == ("returned", "amy", t0 + 10 * H)
    assert ledger(session_factory, "K2")[-1] == ("returned", "amy", release)


async def test_state_survives_continue_as_new(
    lead_env, task_queue, session_factory, update_goldens
):
    activate(session_factory, HOURLY)
    team(session_factory, "desk-rm", {"amy": None, "bob": None}, manager="meg")
    t0 = await now_of(lead_env)
    async with lead_worker(lead_env.client, task_queue, session_factory):
        handle = await hotline(lead_env, task_queue, session_factory, "N1", t0, actions_per_run=2)
        first_run = (await handle.describe()).run_id
        await lead_env.sleep(15 * H)
        live = await view(handle)
        latest_run = (await handle.describe()).run_id
        await keep_history(handle, "lead_after_continue_as_new", update_goldens)
    assert latest_run != first_run
    assert live.state.stage == "pool" and live.state.released_at == t0 + 14 * H
    assert [row[0] for row in ledger(session_factory, "N1")] == [
        "created",
        "assigned",
        "reminded",
        "escalated",
        "reassigned",
        "reminded",
        "escalated",
        "returned",
    ]
