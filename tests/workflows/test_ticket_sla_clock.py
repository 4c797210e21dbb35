"""The pure SLA clock model and engine: business time on the official 2026 CN calendar with exact
timestamps, pauses, resets, the escalation ladder and the regulatory deadline (no Temporal).

The issue's example: a complaint opened at 17:30 on 2026-09-30, the last workday before the
National Day holiday, with 2 business hours to first response on 09:00-18:00 hours, is due at
10:30 on 2026-10-08, and its 5-business-day resolution counts the make-up Saturday 2026-10-10.
Rules other than the shared test SLA (`next_response` and a custom clock, a late `start when`,
an escalation to the named employee) are compiled here from their own text (`engine_of`), on an
ordinary week: Monday 2026-11-30 09:00, no holiday before the new year.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ticket_support import at, cn_calendar, fields, sla, sla_input

import dsl
from dsl.plan import DurationSpec
from workflows import ticket_sla_clock as clock
from workflows.ticket_sla_engine import SlaEngine
from workflows.ticket_sla_rules import InvalidActionError
from workflows.ticket_sla_types import ClockState, EscalationRecord, TicketAction

CAL = clock.WorkCalendar(cn_calendar(2026))
OPENED = at(2026, 9, 30, 17, 30)
MONDAY = at(2026, 11, 30, 9)  # an ordinary week: Monday 30 November 2026, 09:00
HEADER = 'ruleset desk_clocks\n  timezone "Asia/Shanghai"\n  calendar CN\n\n'
CLOCKS = """\
sla callback
  applies to ticket where ticket.category == "complaint"
  hours business 09:00 to 18:00
  target normal: next_response 4 business hours, callback 4 business hours
  pause while ticket.status == "waiting_on_customer"
  escalate
    on breach of next_response: notify role duty_manager
    at 50% of callback: notify role team_lead
    on breach of callback: reassign to role team_lead
"""
LATE_START = """\
sla late
  applies to ticket where ticket.category == "complaint"
  hours business 09:00 to 18:00
  start when ticket.status == "in_progress"
  target normal: first_response 2 business hours, resolution 5 business days
  escalate
    on breach of first_response: reassign to role team_lead
"""
TO_EVE = """\
sla named
  applies to ticket where ticket.category == "complaint"
  hours business 09:00 to 18:00
  target normal: first_response 2 business hours
  never assign ticket.named_employee
  escalate
    on breach of first_response: reassign to user "eve"
"""


def act(name: str, actor: str = "amy", **args) -> TicketAction:
    return TicketAction(action=name, actor=actor, **args)


def engine(opened: dt.datetime = OPENED, **overrides) -> SlaEngine:
    built = SlaEngine(sla_input(fields("T1", opened, **overrides), cn_calendar(2026)))
    built.start(opened)
    return built


def unstarted(sla_text: str, opened: dt.datetime = MONDAY, **overrides) -> SlaEngine:
    """An engine for the SLA `sla_text` (under HEADER) on a ticket opened at `opened`."""
    spec = dsl.compile_source(HEADER + sla_text, "desk_clocks.rules").plan.slas[0]
    inp = sla_input(fields("T1", opened, **overrides), cn_calendar(2026))
    return SlaEngine(inp.model_copy(update={"sla": spec}))


def engine_of(sla_text: str, opened: dt.datetime = MONDAY, **overrides) -> SlaEngine:
    built = unstarted(sla_text, opened, **overrides)
    built.start(opened)
    return built


def clock_at(e: SlaEngine, name: str, when: dt.datetime) -> ClockState:
    return next(c for c in e.view(when).clocks if c.name == name)


def due(e: SlaEngine, name: str, when: dt.datetime) -> dt.datetime | None:
    return clock_at(e, name, when).due_at


def fired(e: SlaEngine, when: dt.datetime, name: str) -> list[EscalationRecord]:
    """The escalations of clock `name` that fire at `when`."""
    change = e.fire_due(when)
    return [x for x in change.escalations if x.clock == name] if change else []


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


def test_next_response_runs_from_each_customer_reply_to_the_next_response():
    e = engine_of(CLOCKS)
    assert clock_at(e, "next_response", MONDAY).status == "pending"  # nothing to answer yet
    e.apply(act("acknowledge"), at(2026, 11, 30, 9, 30))
    assert clock_at(e, "next_response", at(2026, 11, 30, 9, 30)).status == "pending"
    e.apply(act("wait_on_customer"), at(2026, 11, 30, 10))
    # The customer's reply (resume) starts a run; it breaches unanswered, escalating once.
    e.apply(act("resume"), at(2026, 11, 30, 11))
    first = clock_at(e, "next_response", at(2026, 11, 30, 11))
    assert (first.status, first.due_at, first.elapsed_seconds) == (
        "running",
        at(2026, 11, 30, 15),
        0,
    )
    [late] = fired(e, at(2026, 11, 30, 15), "next_response")
    assert (late.key, late.trigger, late.recipient) == (
        "0:next_response:1:0",
        "on_breach",
        "role:duty_manager",
    )
    assert fired(e, at(2026, 11, 30, 15, 10), "next_response") == []
    e.apply(act("respond"), at(2026, 11, 30, 15, 30))
    met_late = clock_at(e, "next_response", at(2026, 11, 30, 16))
    assert (met_late.status, met_late.breached) == ("met", True)
    # The next reply restarts it from zero; answered in time, it is met and never escalates.
    e.apply(act("wait_on_customer"), at(2026, 11, 30, 16))
    e.apply(act("resume"), at(2026, 12, 1, 10))
    second = clock_at(e, "next_response", at(2026, 12, 1, 10))
    assert (second.status, second.due_at, second.breached) == (
        "running",
        at(2026, 12, 1, 14),
        False,
    )
    e.apply(act("respond"), at(2026, 12, 1, 11))
    on_time = clock_at(e, "next_response", at(2026, 12, 1, 14))
    assert (on_time.status, on_time.due_at, on_time.breached) == ("met", at(2026, 12, 1, 14), False)
    assert fired(e, at(2026, 12, 1, 14), "next_response") == []
    # A response is no customer reply: only the third reply starts the next run.
    e.apply(act("respond"), at(2026, 12, 1, 11, 30))
    assert clock_at(e, "next_response", at(2026, 12, 1, 12)).status == "met"
    e.apply(act("wait_on_customer"), at(2026, 12, 1, 11, 30))
    e.apply(act("resume"), at(2026, 12, 1, 13))
    [third] = fired(e, at(2026, 12, 1, 17), "next_response")
    assert third.key == "0:next_response:3:0"  # each run escalates once, under its own key


def test_a_custom_clock_runs_from_the_start_to_the_stop_condition():
    e = engine_of(CLOCKS)
    callback = clock_at(e, "callback", MONDAY)
    assert (callback.status, callback.due_at, callback.target_seconds) == (
        "running",
        at(2026, 11, 30, 13),
        4 * 3600,
    )
    # Neither acknowledging nor responding meets it; waiting on the customer pauses it.
    e.apply(act("acknowledge"), at(2026, 11, 30, 9, 30))
    e.apply(act("respond"), at(2026, 11, 30, 10))
    assert clock_at(e, "callback", at(2026, 11, 30, 10)).status == "running"
    e.apply(act("wait_on_customer"), at(2026, 11, 30, 10))
    assert clock_at(e, "callback", at(2026, 11, 30, 10, 30)).status == "paused"
    e.apply(act("resume"), at(2026, 11, 30, 11))
    assert due(e, "callback", at(2026, 11, 30, 11)) == at(2026, 11, 30, 14)
    [warning] = fired(e, at(2026, 11, 30, 12), "callback")  # 2 of 4 active business hours
    assert (warning.trigger, warning.recipient) == ("at_percent", "role:team_lead")
    assert fired(e, at(2026, 11, 30, 13, 59), "callback") == []
    [breach] = fired(e, at(2026, 11, 30, 14), "callback")
    assert (breach.key, breach.action, breach.outcome) == ("0:callback:0:2", "reassign", "done")
    assert (e.state.ticket.assignee, e.state.ticket.assigned_role) == (None, "team_lead")
    assert clock_at(e, "callback", at(2026, 11, 30, 15)).breached
    assert fired(e, at(2026, 11, 30, 18), "callback") == []  # once per cycle

    # Met: the stop condition (resolved) ends it before its due time; nothing fires later.
    met = engine_of(CLOCKS)
    met.apply(act("resolve"), at(2026, 11, 30, 12))
    done = clock_at(met, "callback", at(2026, 12, 1, 9))
    assert (done.status, done.due_at, done.breached) == ("stopped", at(2026, 11, 30, 13), False)
    assert done.elapsed_seconds == 3 * 3600
    assert fired(met, at(2026, 12, 1, 9), "callback") == []


def test_a_late_start_condition_waits_and_counts_from_when_it_holds():
    e = unstarted(LATE_START)
    assert e.start(MONDAY).action == "ticket.sla_waiting"
    waiting = e.view(at(2026, 11, 30, 13))
    assert waiting.started_at is None and not waiting.paused
    assert {(c.status, c.due_at) for c in waiting.clocks} == {("pending", None)}
    # Waiting counts nothing and nothing is due, however long it lasts.
    assert e.pending() == [] and e.next_wakeup(MONDAY) is None
    assert e.fire_due(at(2026, 11, 30, 13)) is None
    acknowledged = at(2026, 11, 30, 14)
    e.apply(act("acknowledge"), acknowledged)
    assert e.state.started_at == acknowledged  # not the opening: no retroactive start
    resolution = clock_at(e, "resolution", acknowledged)
    assert (resolution.status, resolution.due_at) == ("running", at(2026, 12, 7, 14))
    assert resolution.elapsed_seconds == 0


@pytest.mark.parametrize("name", ["acknowledge", "respond"])
def test_the_action_that_starts_a_late_sla_meets_first_response(name: str):
    e = engine_of(LATE_START)
    e.apply(act(name), at(2026, 11, 30, 14))
    assert e.state.first_response_at == at(2026, 11, 30, 14)
    assert clock_at(e, "first_response", at(2026, 11, 30, 14)).status == "met"
    assert fired(e, at(2026, 11, 30, 17), "first_response") == []


def test_an_escalation_never_reassigns_to_the_named_employee():
    e = engine_of(TO_EVE, assignee="amy", named_employee="eve")
    [refused] = fired(e, at(2026, 11, 30, 11), "first_response")
    assert (refused.action, refused.recipient, refused.outcome) == (
        "reassign",
        "eve",
        "refused_named_employee",
    )
    assert (e.state.ticket.assignee, e.state.ticket.assigned_role) == ("amy", None)
    assert fired(e, at(2026, 11, 30, 12), "first_response") == []  # not retried either
    # The same rung on a ticket about someone else does hand it to eve.
    other = engine_of(TO_EVE, assignee="amy", named_employee="bob")
    [done] = fired(other, at(2026, 11, 30, 11), "first_response")
    assert done.outcome == "done" and other.state.ticket.assignee == "eve"
