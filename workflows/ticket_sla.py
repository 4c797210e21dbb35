"""TicketSLAWorkflow: the live SLA of one ticket (id `ticket:<ticket id>`), never a cron sweep.

Started by `services.tickets` when the first matching `sla` block of an active plan applies to
a new ticket, and pinned to that plan fragment (its hash is in every record). The workflow is a
durable shell around `SlaEngine`: it computes due times itself from the calendar snapshot in
its input (pure functions, so replay is deterministic), sleeps until the next escalation, the
regulatory deadline or the end of the reopen window, and wakes early for every step.

- `act` (update): every ticket action (acknowledge, respond, wait_on_customer, resume, resolve,
  reopen, reassign, escalate, extend, withdraw). The validator refuses what does not apply, the
  handler applies it, records it in the database through `ticket.record` and answers the new
  SLA state, so the API's reply is the state after the step.
- `sla_state` (query, optional time): the live state of every clock at that time.
- `calendar` (signal): a new calendar snapshot after operations edited the calendar.

One lock serialises steps, so the database sees them in order (`seq`); every record carries
the SLA state after its step. History stays bounded: the workflow continues as new with its
engine state when Temporal suggests it or past `history_limit` events.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

# Dotted imports: `from workflows import x` would bind the sandbox's own copy of the package.
with workflow.unsafe.imports_passed_through():
    from workflows.ticket_sla_engine import Change, SlaEngine
    from workflows.ticket_sla_rules import InvalidActionError
    from workflows.ticket_sla_types import (
        ACT_UPDATE,
        CALENDAR_SIGNAL,
        RECORD_ACTIVITY,
        RECORD_RETRY,
        RECORD_TIMEOUT,
        STATE_QUERY,
        WORKFLOW,
        CalendarSnapshot,
        SlaState,
        TicketAction,
        TicketRecord,
        TicketSLAInput,
    )


@workflow.defn(name=WORKFLOW)
class TicketSLAWorkflow:
    @workflow.init
    def __init__(self, inp: TicketSLAInput) -> None:
        self._in = inp
        self._engine = SlaEngine(inp)
        self._lock = asyncio.Lock()
        self._woken = False
        self._calendar_changed = False

    @workflow.run
    async def run(self, inp: TicketSLAInput) -> SlaState:
        engine = self._engine
        if inp.state is None:
            async with self._lock:  # started late or retroactively: fire what is already due
                await self._record(engine.start(workflow.now()))
                change = engine.fire_due(workflow.now())
                if change is not None:
                    await self._record(change)
        while True:
            async with self._lock:
                now = workflow.now()
                if self._calendar_changed:
                    self._calendar_changed = False
                    await self._record(
                        Change("ticket.calendar_updated", "system", calendar=self._in.calendar.name)
                    )
                for change in (engine.fire_due(now), engine.close_due(now)):
                    if change is not None:
                        await self._record(change)
            if engine.state.cancelled or engine.state.closed:
                break
            if self._history_full():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._carry())
            now, self._woken = workflow.now(), False
            wake = engine.next_wakeup(now)
            timeout = max(wake - now, timedelta(milliseconds=1)) if wake else None
            with contextlib.suppress(TimeoutError):  # a timeout: something is due, fire it
                await workflow.wait_condition(
                    lambda: self._woken or self._history_full(), timeout=timeout
                )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return engine.view(workflow.now())

    @workflow.update(name=ACT_UPDATE)
    async def act(self, action: TicketAction) -> SlaState:
        """Apply one ticket action, record it, answer the SLA state after it."""
        async with self._lock:
            now = workflow.now()
            try:
                change = self._engine.apply(action, now)
            except InvalidActionError as exc:  # the state changed since the validator ran
                raise ApplicationError(str(exc), type=exc.code, non_retryable=True) from None
            await self._record(change)
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

    async def _record(self, change: Change) -> None:
        state, now = self._engine.state, workflow.now()
        state.seq += 1
        record = TicketRecord(
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
        await workflow.execute_activity(
            RECORD_ACTIVITY,
            record,
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
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
