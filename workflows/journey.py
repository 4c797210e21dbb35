"""JourneyWorkflow: one customer's path through one event-triggered journey of a plan.

Started (or signalled) by the event router with signal-with-start, id
`runtime.contracts.journey_id`, it interprets the journey's steps: waits, waits for an event
with a timeout path, branches, sends, tasks, notices and exits. Incoming events are handled by
a watcher task beside the steps: an `exit on event` (or an `exit when` condition, re-checked on
every event and whenever a wait ends) ends the journey at once, mid-wait, not when the wait is
over. Conditions are evaluated by activities at the workflow's time; the workflow itself holds
only ids and booleans. Every effect is keyed by `root_run_id` = workflow id + trigger event
(+ year), so a re-entered or repeated journey is a new set of effects and a retried one is not.

After its steps a `repeat yearly` journey sleeps to the trigger's next anniversary and continues
as new; a journey with `reentry after D` stays alive (ignoring events) until D after its entry,
so the router's signal-with-start cannot start it again early. `reentry never` is enforced by
the router's id reuse policy and, beyond Temporal's retention, by the entry activity.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from dsl.expr import Expr
    from dsl.plan import (
        DurationSpec,
        ExitStep,
        IfStep,
        JourneyStep,
        NotifyStep,
        SendStep,
        TaskStep,
        WaitEventStep,
        WaitStep,
    )
    from runtime.contracts import EventSignal, JourneyInput
    from workflows import journey_requests as rq
    from workflows import journey_types as jt
    from workflows import task_types as tt

MAX_DEFERRALS = 3  # quiet-hours deferrals of one send before giving up on it
BUFFER = 20  # unconsumed events kept for a later `wait for event`


@workflow.defn(name="JourneyWorkflow")
class JourneyWorkflow:
    @workflow.init
    def __init__(self, inp: JourneyInput) -> None:
        self._in, self._spec, self._cycle = inp, inp.journey, inp.cycle
        self._inbox: list[EventSignal] = []
        self._seen: set[int] = {inp.event_id}  # the trigger also arrives as the start signal
        self._buffer: list[EventSignal] = []
        self._waiting: WaitEventStep | None = None
        self._matched: int | None = None
        self._exit: str | None = None
        self._status: jt.Outcome = "holding" if inp.hold_until else "running"
        self._done: list[str] = []

    @workflow.signal(name=jt.EVENT_SIGNAL)
    def event(self, signal: EventSignal) -> None:
        """An event of this customer; duplicates (a resent batch) are ignored."""
        if self._status == "running" and signal.event_id not in self._seen:
            self._seen.add(signal.event_id)
            self._inbox.append(signal)

    @workflow.query(name="state")
    def state(self) -> jt.JourneyState:
        waiting = self._waiting.event if self._waiting else None
        return jt.JourneyState(status=self._status, cycle=self._cycle, waiting_for=waiting,
                               steps_done=self._done, exit_reason=self._exit)  # fmt: skip

    @workflow.run
    async def run(self, inp: JourneyInput) -> jt.JourneyResult:
        if inp.hold_until is not None:
            return await self._hold(inp.hold_until)
        wid = workflow.info().workflow_id
        # Effects are keyed per entry (the trigger) and year, never per customer alone.
        self._root = f"{wid}@{inp.event_id}" + (f"/y{inp.cycle}" if inp.cycle else "")
        entered_at, anchor = workflow.now(), inp.anchor
        watcher = asyncio.create_task(self._watch())
        try:
            if inp.cycle == 0:
                entered = await self._act(jt.ENTER, rq.enter(inp, wid, entered_at))
                if not entered.entered:
                    self._status = "not_entered"
                    return self._result(entered.reason)
                anchor = entered.occurred_at or entered_at
            await self._steps(self._spec.steps)
            yearly = self._spec.repeat_yearly and self._exit is None and anchor is not None
            if yearly and await self._sleep_until(jt.next_anniversary(anchor, workflow.now())):
                watcher.cancel()
                update = {"cycle": inp.cycle + 1, "anchor": anchor}
                workflow.continue_as_new(inp.model_copy(update=update))
        finally:
            watcher.cancel()
        self._status = "exited" if self._exit else "completed"
        result = self._result(self._exit)
        if self._spec.reentry_after is not None and inp.cycle == 0:
            until = await self._deadline(entered_at, self._spec.reentry_after)
            if until > workflow.now():
                await self._hold(until)
        return result

    def _result(self, reason: str | None) -> jt.JourneyResult:
        return jt.JourneyResult(outcome=self._status, reason=reason, cycle=self._cycle,
                                steps_done=self._done)  # fmt: skip

    # --- steps ------------------------------------------------------------------------------

    async def _steps(self, steps: list[JourneyStep]) -> None:
        for step in steps:
            if self._exit is not None:
                return
            await self._step(step)

    async def _step(self, step: JourneyStep) -> None:
        now = workflow.now()
        if isinstance(step, WaitStep):
            if await self._sleep_until(await self._deadline(now, step.duration)):
                await self._check_exit_conditions()
        elif isinstance(step, WaitEventStep):
            if not await self._wait_for_event(step):
                await self._check_exit_conditions()
                await self._steps(step.on_timeout)
        elif isinstance(step, IfStep):
            [holds] = await self._evaluate([step.condition], self._in.event_id)
            await self._steps(step.then if holds else step.otherwise)
        elif isinstance(step, SendStep):
            await self._send(step)
        elif isinstance(step, TaskStep):
            await self._act(tt.OPEN_TASKS, rq.open_task(self._in, self._root, step, now))
        elif isinstance(step, NotifyStep):
            await self._act(tt.NOTIFY, rq.notify(self._in, self._root, step, now))
        elif isinstance(step, ExitStep):
            self._exit = f"exit step {step.step}"
        if self._exit is None:
            self._done.append(step.step)

    async def _send(self, step: SendStep) -> None:
        for _ in range(MAX_DEFERRALS + 1):
            request = rq.send(self._in, self._root, step, workflow.now())
            outcome: jt.SendOutcome = await self._act(jt.SEND, request)
            # Quiet hours defer a send, never drop it: sleep until the window opens, resend.
            if outcome.deferred_until is None:
                return
            if not await self._sleep_until(outcome.deferred_until):
                return

    async def _wait_for_event(self, step: WaitEventStep) -> bool:
        """Wait for a matching event (True) or the timeout (False); an exit ends it too."""
        self._waiting, self._matched = step, None
        earlier = [s for s in self._buffer if s.type == step.event]
        self._buffer = [s for s in self._buffer if s.type != step.event]
        for signal in earlier:  # events that arrived before this wait began count too
            if step.where is None or (await self._evaluate([step.where], signal.event_id))[0]:
                self._matched = self._matched or signal.event_id
                break
        until = None
        if step.timeout is not None:
            until = await self._deadline(workflow.now(), step.timeout)
        timeout = None if until is None else until - workflow.now()
        if self._matched is None and (timeout is None or timeout > timedelta(0)):
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._matched is not None or self._exit is not None, timeout=timeout
                )
        self._waiting = None
        return self._matched is not None or self._exit is not None

    # --- events -----------------------------------------------------------------------------

    async def _watch(self) -> None:
        """Handle incoming events one by one, beside the steps: exits act at once."""
        while True:
            await workflow.wait_condition(lambda: bool(self._inbox))
            signal = self._inbox.pop(0)
            if self._exit is None:
                try:
                    await self._consider(signal)
                except ActivityError as exc:
                    workflow.logger.warning("event %s not evaluated: %s", signal.event_id, exc)

    async def _consider(self, signal: EventSignal) -> None:
        wait = self._waiting
        checks = rq.event_checks(self._spec, signal, wait)
        if checks.exit_now:
            self._exit = f"event {signal.type}"
            return
        conditions = checks.conditions
        results = await self._evaluate(conditions, signal.event_id) if conditions else []
        verdict = checks.verdict(results)
        if verdict == "exit:event":
            self._exit = f"event {signal.type}"
        elif verdict == "exit:condition":
            self._exit = "condition"
        elif verdict == "match" and self._waiting is wait:
            self._matched = self._matched or signal.event_id
        elif signal.type in jt.waited_events(self._spec):
            self._buffer = [*self._buffer, signal][-BUFFER:]  # a later wait may want it

    async def _check_exit_conditions(self) -> None:
        conditions = [x.condition for x in self._spec.exits if not x.event and x.condition]
        if conditions and any(await self._evaluate(conditions, self._in.event_id)):
            self._exit = self._exit or "condition"

    # --- time and activities ----------------------------------------------------------------

    async def _sleep_until(self, until: datetime) -> bool:
        """Sleep until `until`; False when an exit cut the sleep short."""
        delay = until - workflow.now()
        if delay > timedelta(0):
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._exit is not None, timeout=delay)
        return self._exit is None

    async def _deadline(self, start: datetime, duration: DurationSpec) -> datetime:
        fixed = duration.fixed_seconds()
        if fixed is not None:
            return start + timedelta(seconds=fixed)
        # Business time and months: computed by an activity, so a calendar update never
        # changes a deadline already in this workflow's history.
        return await self._act(jt.DEADLINE, rq.deadline(self._in, start, duration))

    async def _evaluate(self, conditions: list[Expr], event_id: int | None) -> list[bool]:
        request = rq.evaluate(self._in, conditions, event_id, workflow.now())
        return await self._act(jt.EVALUATE, request)

    async def _act(self, ref: jt.ActivityRef, request: object):
        return await workflow.execute_activity(
            ref.name, request, result_type=ref.result,
            start_to_close_timeout=ref.timeout, retry_policy=ref.retry)  # fmt: skip

    async def _hold(self, until: datetime) -> jt.JourneyResult:
        """Stay alive until `until` so the router cannot re-enter early; bounded history."""
        self._status = "holding"
        self._inbox.clear()
        delay = until - workflow.now()
        if delay > timedelta(0):
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: workflow.info().is_continue_as_new_suggested(), timeout=delay
                )
                workflow.continue_as_new(self._in.model_copy(update={"hold_until": until}))
        return jt.JourneyResult(outcome="completed", reason="reentry hold ended",
                                cycle=self._cycle, steps_done=self._done)  # fmt: skip
