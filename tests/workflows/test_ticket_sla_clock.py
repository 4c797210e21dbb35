"""The pure SLA clock model and engine: business time on the official 2026 CN calendar with exact
timestamps, pauses, resets, the escalation ladder and the regulatory deadline (no Temporal).

The issue's example: a complaint opened at 17:30 on 2026-09-30, the last workday before the
National Day holiday, with 2 business hours to first response on 09:00-18:00 hours, is due at
10:30 on 2026-10-08, and its 5-business-day resolution counts the make-up Saturday 2026-10-10.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ticket_support import at, cn_calendar, fields, sla, sla_input

from dsl.plan import DurationSpec
from workflows import ticket_sla_clock as clock
from workflows.ticket_sla_engine import SlaEngine
from workflows.ticket_sla_rules import InvalidActionError
from workflows.ticket_sla_types import TicketAction

CAL = clock.WorkCalendar(cn_calendar(2026))
OPENED = at(2026, 9, 30, 17, 30)


def act(name: str, actor: str = "amy", **args) -> TicketAction:
    return TicketAction(action=name, actor=actor, **args)


def engine(opened: dt.datetime = OPENED, **overrides) -> SlaEngine:
    built = SlaEngine(sla_input(fields("T1", opened, **overrides), cn_calendar(2026)))
    built.start(opened)
    return built


def due(e: SlaEngine, name: str, when: dt.datetime) -> dt.datetime | None:
    return next(c.due_at for c in e.view(when).clocks if c.name == name)


def test_national_day_example_exact_timestamps():
    assert CAL.add(OPENED, 2 * 3600) == at(2026, 10, 8, 10, 30)
    five_days = clock.target_of(DurationSpec(amount=5, unit="day", business=True), CAL, OPENED)
    assert five_days == ("business", 5 * 9 * 3600)
    assert CAL.add(OPENED, five_days[1]) == at(2026, 10, 13, 17, 30)  # counts Saturday the 10th
    no_makeup = clock.WorkCalendar(cn_calendar(2026).model_copy(update={"workdays": []}))
    assert no_makeup.add(OPENED, five_days[1]) == at(2026, 10, 14, 17, 30)
    e = engine()
    assert due(e, "first_response", OPENED) == at(2026, 10, 8, 10, 30)
    assert due(e, "resolution", OPENED) == at(2026, 10, 13, 17, 30)
    assert e.view(OPENED).deadline.due_at == at(2026, 10, 15, 17, 30)  # 15 calendar days


def test_business_time_between_and_outside_hours():
    assert CAL.between(at(2026, 9, 30, 17), at(2026, 10, 8, 10)) == 2 * 3600
    assert CAL.between(at(2026, 10, 3, 10), at(2026, 10, 5, 10)) == 0  # holiday weekend
    assert CAL.add(at(2026, 9, 30, 20), 60) == at(2026, 10, 8, 9, 1)  # after hours: next open
    assert CAL.add(at(2026, 10, 9, 9), 9 * 3600) == at(2026, 10, 9, 18)  # the close, not 09:00


def test_weekly_pattern_saturday_mornings():
    week = [("09:00", "18:00")] * 5 + [("09:00", "12:00"), None]
    cal = clock.WorkCalendar(cn_calendar(2026).model_copy(update={"week": week}))
    # Friday 17:00 + 2 business hours: one on Friday, one on Saturday morning.
    assert cal.add(at(2026, 11, 6, 17), 7200) == at(2026, 11, 7, 10)
    assert cal.between(at(2026, 11, 7, 0), at(2026, 11, 9, 0)) == 3 * 3600


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(dt.datetime(2026, 1, 1), dt.datetime(2026, 12, 1)),
    seconds=st.integers(0, 40 * 9 * 3600),
)
def test_add_and_between_are_inverse(start: dt.datetime, seconds: int):
    begin = start.replace(tzinfo=dt.UTC)
    end = CAL.add(begin, seconds)
    assert CAL.between(begin, end) == pytest.approx(seconds, abs=1e-6)
    assert end >= begin


def test_elapsed_and_reach_over_paused_segments():
    segments = [(at(2026, 10, 8, 9), at(2026, 10, 8, 10)), (at(2026, 10, 9, 9), None)]
    assert clock.elapsed(segments, "business", CAL, at(2026, 10, 9, 11)) == 3 * 3600
    assert clock.reach(segments, "business", CAL, 2 * 3600) == at(2026, 10, 9, 10)
    assert clock.reach(segments[:1], "business", CAL, 2 * 3600) is None  # paused short of it
    assert clock.reach(segments, "wall", CAL, 2 * 3600) == at(2026, 10, 9, 10)


def test_wall_and_calendar_targets():
    two_hours = DurationSpec(amount=2, unit="hour")
    assert clock.target_of(two_hours, CAL, OPENED) == ("wall", 7200)
    month = DurationSpec(amount=1, unit="month")
    assert clock.add_calendar(at(2026, 1, 31, 10), month, CAL) == at(2026, 2, 28, 10)


def test_pausing_shifts_every_due_time_by_the_paused_business_time():
    e = engine(at(2026, 10, 8, 9))
    before = {c.name: c.due_at for c in e.view(at(2026, 10, 8, 9)).clocks}
    e.apply(act("wait_on_customer"), at(2026, 10, 8, 9, 30))
    assert e.view(at(2026, 10, 8, 12)).paused
    assert e.fire_due(at(2026, 10, 9, 12)) is None  # the 50% warning is not due while paused
    e.apply(act("resume"), at(2026, 10, 9, 14))
    paused = CAL.between(at(2026, 10, 8, 9, 30), at(2026, 10, 9, 14))
    assert paused == 13.5 * 3600
    for state in e.view(at(2026, 10, 9, 14)).clocks:
        assert CAL.between(before[state.name], state.due_at) == paused


def test_breach_escalates_once_and_only_once():
    e = engine()
    first = e.fire_due(at(2026, 10, 8, 10, 30))
    assert [(x.trigger, x.action) for x in first.escalations] == [
        ("at_percent", "notify"),
        ("on_breach", "reassign"),
    ]
    assert e.state.ticket.assigned_role == "team_lead" and e.state.ticket.assignee is None
    assert e.fire_due(at(2026, 10, 8, 10, 30)) is None
    e.apply(act("reassign", assignee="bob"), at(2026, 10, 8, 11))
    assert e.fire_due(at(2026, 10, 8, 12)) is None  # reassigning is not a new breach
    keys = [k for k in e.state.fired if ":first_response:" in k]
    assert len(keys) == len(set(keys)) == 2


def test_raise_priority_switches_targets_and_each_rung_fires_once():
    e = engine()
    e.apply(act("respond"), at(2026, 10, 8, 9, 15))
    fired = e.fire_due(at(2026, 10, 13, 17, 30))
    # Responded at 09:15, before the 50% warning (09:30): first response never escalates.
    assert [(x.trigger, x.action) for x in fired.escalations] == [
        ("on_breach", "raise_priority"),
        # Urgent targets apply at once: resolution within 1 business day was breached at 17:30
        # on 10-08, so "2 hours after breach" is long past and fires now, once.
        ("after_breach", "notify"),
    ]
    assert e.state.ticket.priority == "urgent"
    assert due(e, "resolution", at(2026, 10, 13, 18)) == at(2026, 10, 8, 17, 30)
    later = e.fire_due(at(2026, 10, 20, 9))  # only the regulatory deadline (10-15) is new
    assert [(x.trigger, x.recipient) for x in later.escalations] == [
        ("deadline", "role:compliance")
    ]


def test_reopen_resets_every_clock_into_a_new_cycle():
    e = engine()
    e.fire_due(at(2026, 10, 8, 11))
    e.apply(act("respond"), at(2026, 10, 8, 11))
    e.apply(act("resolve"), at(2026, 10, 9, 10))
    assert {c.status for c in e.view(at(2026, 10, 9, 10)).clocks} == {"met", "stopped"}
    e.apply(act("reopen"), at(2026, 10, 12, 9))
    view = e.view(at(2026, 10, 12, 9))
    assert view.clocks[0].cycle == 1 and view.clocks[0].status == "running"
    assert due(e, "first_response", at(2026, 10, 12, 9)) == at(2026, 10, 12, 11)
    again = e.fire_due(at(2026, 10, 12, 11))
    assert {x.cycle for x in again.escalations} == {1}  # a new breach, escalated once too


def test_start_from_a_ticket_field_is_retroactive():
    e = engine(at(2026, 10, 8, 9), reported_at=OPENED)
    assert e.state.started_at == OPENED
    assert due(e, "first_response", at(2026, 10, 8, 9)) == at(2026, 10, 8, 10, 30)


def test_withdraw_cancels_and_ends_the_sla():
    e = engine()
    e.apply(act("withdraw"), at(2026, 10, 8, 9))
    assert e.state.cancelled and e.pending() == []
    with pytest.raises(InvalidActionError):
        e.check(act("respond"), at(2026, 10, 8, 10))


def test_named_employee_never_handles_the_ticket():
    e = engine(named_employee="eve")
    with pytest.raises(InvalidActionError, match="names"):
        e.apply(act("reassign", assignee="eve"), at(2026, 10, 8, 9))
    with pytest.raises(InvalidActionError):
        e.apply(act("acknowledge", actor="eve"), at(2026, 10, 8, 9))
    e.apply(act("acknowledge", actor="amy"), at(2026, 10, 8, 9))
    assert e.state.ticket.assignee == "amy"
    # Nor may they work the complaint about themselves once someone else has it.
    for name, extra in (("respond", {}), ("wait_on_customer", {}), ("resolve", {}),
                        ("escalate", {}), ("extend", {"approver": "cora"})):  # fmt: skip
        with pytest.raises(InvalidActionError, match="may not act"):
            e.apply(act(name, actor="eve", **extra), at(2026, 10, 8, 10))
    e.apply(act("respond", actor="amy"), at(2026, 10, 8, 10))


def test_regulatory_deadline_extends_to_30_then_by_30_with_an_approver():
    e = engine()
    e.apply(act("acknowledge"), at(2026, 10, 8, 9))
    for approver in (None, "amy"):  # none, or the handler (who is also the requester)
        with pytest.raises(InvalidActionError, match="approver"):
            e.apply(act("extend", approver=approver), at(2026, 10, 9, 9))
    first = e.apply(act("extend", approver="cora"), at(2026, 10, 9, 9)).extension
    assert (first.mode, first.due_at, first.approver) == ("to", at(2026, 10, 30, 17, 30), "cora")
    second = e.apply(act("extend", approver="cora"), at(2026, 10, 20, 9)).extension
    assert second.due_at == at(2026, 11, 29, 17, 30)
    with pytest.raises(InvalidActionError, match="again"):
        e.apply(act("extend", approver="cora"), at(2026, 10, 21, 9))
    assert sla().deadline is not None and len(sla().deadline.extensions) == 2


def test_due_times_in_a_year_without_holidays_are_flagged():
    e = engine()
    assert e.view(OPENED).calendar_years_missing == []
    december = engine(at(2026, 12, 28, 10))  # resolution due in January 2027: no table yet
    assert due(december, "resolution", at(2026, 12, 28, 10)).year == 2027
    assert december.view(at(2026, 12, 28, 10)).calendar_years_missing == [2027]
    weekly_only = SlaEngine(
        sla_input(fields("T2", at(2026, 12, 28, 10)), cn_calendar().model_copy())
    )
    weekly_only.start(at(2026, 12, 28, 10))
    assert weekly_only.view(at(2026, 12, 28, 10)).calendar_years_missing == []
