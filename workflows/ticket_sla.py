"""TicketSLAWorkflow: the live SLA of one ticket (id `ticket:<ticket id>`), never a cron sweep.

Started by `services.tickets` when the first matching `sla` block of an active plan applies to
a new ticket, and pinned to that plan fragment (its hash is in every record). The workflow is a
durable shell around `SlaEngine`: it computes due times itself from the calendar snapshot in
its input (pure functions, so replay is deterministic), sleeps until the next escalation, the
regulatory deadline or the end of the reopen window, and wakes early for every step.

- `act` (update): every ticket action (acknowledge, respond, wait_on_customer, resume, resolve,
  reopen, reassign, escalate, extend, withdraw). The validator refuses what does not apply; the
  handler applies it and answers the SLA state after it at once.
- `sla_state` (query, optional time): the live state of every clock at that time.
- `calendar` (signal): a new calendar snapshot after operations edited the calendar.

Every step (actions, escalations, closing) is queued with the next `seq` and one writer task
records the queue in order through the `ticket.record` activity (ticket row, clock mirror,
escalations, audit), a batch per activity under load: an action's answer does not wait for the
database, and the database never sees steps out of order. History stays bounded: the workflow
continues as new with its engine state, once the queue is written, when Temporal suggests it
or past `history_limit` events.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

# Dotted imports: `from workflows import x` would bind the sandbox's own copy of the package.
with workflow.unsafe.imports_passed_through():
    from workflows.ticket_sla_engine import Change, SlaEngine
    from workflows.ticket_sla_rules import InvalidActionError
    from workflows.ticket_sla_types import (
        ACT_UPDATE,
        CALENDAR_SIGNAL,
        RECORD_ACTIVITY,
        RECORD_BATCH,
        RECORD_RETRY,
        RECORD_TIMEOUT,
        STATE_QUERY,
        WORKFLOW,
        CalendarSnapshot,
        RecordBatch,
        SlaState,
        TicketAction,
        TicketRecord,
        TicketSLAInput,
    )

# Patch markers of engine changes that alter the commands a ticket issues (see the replay
# histories ticket_*_v1.json, recorded before each change).
NAMED_EMPLOYEE_ACTS = "named-employee-may-not-act"  # no action at all by the named employee
LATE_START_MEETS = "late-start-meets-first-response"  # the starting action meets it


@workflow.defn(name=WORKFLOW)
class TicketSLAWorkflow:
    @workflow.init
    def __init__(self, inp: TicketSLAInput) -> None:
        self._in = inp
        self._engine = SlaEngine(inp)
        self._outbox: list[TicketRecord] = []  # steps not yet in the database, in order
        self._writing = False
        self._alarms: dict[datetime, asyncio.Task] = {}  # pending timers, by the instant
        self._woken = False
        self._calendar_changed = False

    @workflow.run
    async def run(self, inp: TicketSLAInput) -> SlaState:
        engine = self._engine
        writer = asyncio.create_task(self._writer())
        if inp.state is None:  # started late or retroactively: fire what is already due
            self._record(engine.start(workflow.now()))
            self._record(engine.fire_due(workflow.now()))
        while True:
            now = workflow.now()
            if self._calendar_changed:
                self._calendar_changed = False
                name = self._in.calendar.name
                self._record(Change("ticket.calendar_updated", "system", calendar=name))
            self._record(engine.fire_due(now))
            self._record(engine.close_due(now))
            if engine.state.cancelled or engine.state.closed:
                break
            if self._history_full():
                await self._drained()
                workflow.continue_as_new(self._carry())
            self._woken = False
            self._arm(engine.next_wakeup(now))
            await workflow.wait_condition(lambda: self._woken or self._history_full())
        await self._drained()
        writer.cancel()
        return engine.view(workflow.now())

    @workflow.update(name=ACT_UPDATE)
    def act(self, action: TicketAction) -> SlaState:
        """Apply one ticket action and answer the SLA state after it (recorded in order)."""
        now = workflow.now()
        legacy = self._engine.legacy
        legacy.named_employee = not workflow.patched(NAMED_EMPLOYEE_ACTS)
        legacy.late_start = not workflow.patched(LATE_START_MEETS)
        try:
            change = self._engine.apply(action, now)
        except InvalidActionError as exc:  # defensive: the validator ran on the same state
            raise ApplicationError(str(exc), type=exc.code, non_retryable=True) from None
        self._record(change)
        self._woken = True
        return self._engine.view(now)

    @act.validator
    def _validate(self, action: TicketAction) -> None:
        try:
            self._engine.check(action, workflow.now())
        except InvalidActionError as exc:
            raise ApplicationError(str(exc), type=exc.code, non_retryable=True) from None

    @workflow.query(name=STATE_QUERY)
    def sla_state(self, at: datetime | None = None) -> SlaState:
        """The SLA state at `at` (default: the workflow's current time)."""
        return self._engine.view(at or workflow.now())

    @workflow.signal(name=CALENDAR_SIGNAL)
    def calendar(self, snapshot: CalendarSnapshot) -> None:
        """Operations edited the calendar: count business time on the new snapshot from now."""
        self._engine.use_calendar(snapshot)
        self._in = self._in.model_copy(update={"calendar": snapshot})
        self._calendar_changed = self._woken = True

    def _record(self, change: Change | None) -> None:
        """Queue a step for the database; `seq` fixes its place in the ticket's history."""
        if change is None:
            return
        state, now = self._engine.state, workflow.now()
        state.seq += 1
        self._outbox.append(
            TicketRecord(
                ticket_id=state.ticket.id,
                workflow_id=workflow.info().workflow_id,
                rule=self._in.rule,
                seq=state.seq,
                at=now,
                actor=change.actor,
                action=change.action,
                detail=change.detail,
                state=self._engine.view(now),
                first_response_at=state.first_response_at,
                resolved_at=state.resolved_at,
                escalations=change.escalations,
                extension=change.extension,
            )
        )

    def _arm(self, wake: datetime | None) -> None:
        """A timer for `wake` unless one at or before it is pending. Timers are never
        cancelled (one that fires early only wakes the loop, which re-plans): cancelling a
        timer in the task that completes an update trips the time-skipping test server."""
        if wake is None or any(alarm <= wake for alarm in self._alarms):
            return

        async def ring() -> None:
            await asyncio.sleep(max((wake - workflow.now()).total_seconds(), 0.001))
            self._alarms.pop(wake, None)
            self._woken = True

        self._alarms[wake] = asyncio.create_task(ring())

    async def _writer(self) -> None:
        """One activity at a time, each writing every queued step (a batch under load)."""
        while True:
            await workflow.wait_condition(lambda: bool(self._outbox))
            batch = self._outbox[:RECORD_BATCH]
            del self._outbox[: len(batch)]
            self._writing = True
            try:
                await workflow.execute_activity(
                    RECORD_ACTIVITY,
                    RecordBatch(records=batch),
                    start_to_close_timeout=RECORD_TIMEOUT,
                    retry_policy=RECORD_RETRY,
                )
            except ActivityError as exc:  # non-retryable: the ticket row is gone
                workflow.logger.error("ticket steps %s not recorded: %s", batch[0].seq, exc)
            finally:
                self._writing = False

    async def _drained(self) -> None:
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and not self._outbox and not self._writing
        )

    def _history_full(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > self._in.history_limit
        )

    def _carry(self) -> TicketSLAInput:
        state = self._engine.state
        return self._in.model_copy(
            update={"ticket": state.ticket, "state": state.model_copy(deep=True)}
        )
