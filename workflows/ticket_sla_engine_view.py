"""The read side of the SLA engine: targets by priority, due times, and the live state.

`EngineView.view(at)` is what the workflow's `sla_state` query answers: it takes the time as an
argument, so "remaining business time" is computed for the moment the API asks, not for the
workflow's last step. Nothing here changes the engine's state.
"""

from __future__ import annotations

import datetime as dt

from workflows import ticket_sla_clock as clock
from workflows.ticket_sla_types import (
    CalendarSnapshot,
    ClockRun,
    ClockState,
    DeadlineState,
    EngineState,
    SlaState,
    TicketSLAInput,
)

_ORDER = ("first_response", "next_response", "resolution")


class EngineView:
    state: EngineState

    def __init__(self, inp: TicketSLAInput) -> None:
        self.sla, self.rule = inp.sla, inp.rule
        self.use_calendar(inp.calendar)
        names = {name for clocks in self.sla.targets.values() for name in clocks}
        self.clock_names = [n for n in _ORDER if n in names] + sorted(names - set(_ORDER))

    def use_calendar(self, snapshot: CalendarSnapshot) -> None:
        """Count business time on `snapshot` from now on (a calendar edit reached the ticket)."""
        self.snapshot, self.cal = snapshot, clock.WorkCalendar(snapshot)

    @property
    def level(self) -> str:
        """The priority whose targets apply: the ticket's, else normal, else the first."""
        priority = self.state.ticket.priority
        if priority in self.sla.targets:
            return priority
        return "normal" if "normal" in self.sla.targets else next(iter(self.sla.targets))

    def target(self, name: str) -> tuple[clock.Measure, float] | None:
        """(measure, seconds) of clock `name` at the current priority; None if it has none."""
        duration = self.sla.targets[self.level].get(name)
        if duration is None:
            return None
        run = self.state.clocks.get(name)
        start = run.segments[0].start if run and run.segments else self.state.started_at
        return clock.target_of(duration, self.cal, start or self.state.ticket.opened_at)

    @staticmethod
    def segments(run: ClockRun) -> list[clock.Segment]:
        return [(s.start, s.end) for s in run.segments]

    def due_of(self, run: ClockRun, *, as_running: bool = True) -> dt.datetime | None:
        """The due time; for an ended clock, as it stood when it ended (the last segment open)."""
        name = next((n for n, r in self.state.clocks.items() if r is run), None)
        target = self.target(name) if name else None
        if target is None or not run.segments:
            return None
        segments = self.segments(run)
        if as_running:
            segments[-1] = (segments[-1][0], None)
        return clock.reach(segments, target[0], self.cal, target[1])

    def clock_state(self, name: str, at: dt.datetime) -> ClockState:
        st, run, target = self.state, self.state.clocks.get(name), self.target(name)
        measure, seconds = target if target else (None, None)
        if st.cancelled:
            status = "cancelled"
        elif run is None or run.status == "pending":
            status = "pending"
        elif run.status in ("met", "stopped"):
            status = run.status
        else:
            status = "paused" if st.paused or st.stopped else "running"
        segments = self.segments(run) if run else []
        spent = clock.elapsed(segments, measure or "business", self.cal, at) if run else 0.0
        breached_at = due = None
        if target is not None and segments:
            breached_at = clock.reach(segments, target[0], self.cal, target[1])
            due = breached_at if status == "running" or breached_at else None
            if status in ("met", "stopped") and run is not None:
                due = run.due_at
            if breached_at is not None and breached_at > at:
                breached_at = None
        return ClockState(
            name=name,
            status=status,
            measure=measure,
            target_seconds=seconds,
            elapsed_seconds=spent,
            remaining_seconds=None if seconds is None else seconds - spent,
            due_at=due,
            breached=breached_at is not None,
            breached_at=breached_at,
            cycle=st.cycle,
        )

    def view(self, at: dt.datetime) -> SlaState:
        """The live SLA state at `at`."""
        st, ticket = self.state, self.state.ticket
        deadline = None
        if st.deadline is not None and self.sla.deadline is not None:
            end = st.deadline.met_at or at
            deadline = DeadlineState(
                due_at=st.deadline.due_at,
                remaining_seconds=(st.deadline.due_at - at).total_seconds(),
                breached=end > st.deadline.due_at,
                met_at=st.deadline.met_at,
                extensions=st.deadline.extensions,
                extensions_left=len(self.sla.deadline.extensions) - len(st.deadline.extensions),
            )
        clocks = [self.clock_state(name, at) for name in self.clock_names]
        return SlaState(
            ticket_id=ticket.id,
            sla=self.sla.name,
            plan_hash=self.rule.plan_hash,
            as_of=at,
            status=ticket.status,
            priority=ticket.priority,
            assignee=ticket.assignee,
            assigned_role=ticket.assigned_role,
            team=ticket.team,
            paused=st.paused,
            cancelled=st.cancelled,
            closed=st.closed,
            started_at=st.started_at,
            timezone=self.snapshot.timezone,
            clocks=clocks,
            deadline=deadline,
            escalations=st.escalations,
            seq=st.seq,
            calendar_years_missing=self.years_missing(at, [c.due_at for c in clocks]),
        )

    def years_missing(self, at: dt.datetime, due: list[dt.datetime | None]) -> list[int]:
        """Years from now to the latest due time that the snapshot has no official table for
        (none for a calendar that keeps no tables at all: its weekly pattern is the whole)."""
        known = set(self.snapshot.years)
        times = [t for t in due if t is not None]
        if not known or not times:
            return []
        zone = self.cal.zone  # the calendar's years are local: 31 Dec 20:00 UTC is 1 Jan here
        first, last = min(at, *times).astimezone(zone).year, max(at, *times).astimezone(zone).year
        return [year for year in range(first, last + 1) if year not in known]
