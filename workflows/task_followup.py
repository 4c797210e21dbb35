"""TaskFollowUpWorkflow: the clock of one relationship-manager task (e.g. a dormant callback).

Started by the `task.open` activity right after it inserted the task row (id
`task:<the task's idempotency key>`, never reused), it sleeps until the deadline the business
calendar gave the task; if the task is still open then, the `task.escalate` activity escalates
it to the step's `escalate_to` recipient (or marks it overdue when there is none). Until the
task is done or withdrawn the workflow keeps listening: an `event` signal (the router sends
this customer's transaction events) makes `task.withdraw_if` evaluate the step's `cancel when`
at the workflow's time and withdraw the task at once when it holds, before or after the
deadline; `complete` (sent by the tasks API) ends it. Once a day it also looks without being
told, for a cancel condition no event announced or a completion whose signal was lost. The
task row is the truth: every decision is taken in an activity that re-reads it under a lock,
so a signal racing a decision cannot undo a completed task.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from runtime.contracts import EventSignal, TaskInput
    from workflows import journey_types as jt
    from workflows import task_types as tt

RECHECK = timedelta(days=1)  # how often a live task re-reads its row and cancel condition


@workflow.defn(name="TaskFollowUpWorkflow")
class TaskFollowUpWorkflow:
    @workflow.init
    def __init__(self, inp: TaskInput) -> None:
        self._in = inp
        self._status: tt.TaskStatus = inp.status  # type: ignore[assignment]
        self._inbox: list[EventSignal] = []
        self._seen: set[int] = set()
        self._complete = False
        self._checks = 0

    @workflow.signal(name=jt.EVENT_SIGNAL)
    def event(self, signal: EventSignal) -> None:
        """A transaction event of this task's customer: the cancel condition may now hold."""
        if self._in.task.cancel_when is not None and signal.event_id not in self._seen:
            self._seen.add(signal.event_id)
            self._inbox.append(signal)

    @workflow.signal(name=tt.COMPLETE_SIGNAL)
    def complete(self) -> None:
        """The assignee finished the task."""
        self._complete = True

    @workflow.query(name="state")
    def state(self) -> tt.TaskState:
        return tt.TaskState(status=self._status, due_at=self._in.due_at, checks=self._checks)

    @workflow.run
    async def run(self, inp: TaskInput) -> tt.TaskResult:
        while self._status in tt.LIVE:
            due = inp.due_at if self._status == "open" else None
            wait = RECHECK if due is None else min(due - workflow.now(), RECHECK)
            if not await self._woken_within(wait):
                if due is not None and workflow.now() >= due:
                    self._status = await self._act(tt.ESCALATE)
                else:
                    # A daily look: a cancel condition no event announced (a holding closed
                    # in the core sync), or a completion whose signal never arrived.
                    self._status = await self._act(tt.WITHDRAW_IF)
            elif self._complete:
                self._status = await self._act(tt.COMPLETE)
            elif self._inbox:
                signal = self._inbox.pop(0)
                self._status = await self._act(tt.WITHDRAW_IF, signal.event_id)
                self._checks += 1
            elif workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(inp.model_copy(update={"status": self._status}))
        return tt.TaskResult(status=self._status)

    async def _woken_within(self, timeout: timedelta) -> bool:
        """Wait for a signal (True) or `timeout` (False)."""
        if timeout <= timedelta(0):
            return False
        try:
            await workflow.wait_condition(self._woken, timeout=timeout)
        except TimeoutError:
            return False
        return True

    def _woken(self) -> bool:
        return self._complete or bool(self._inbox) or workflow.info().is_continue_as_new_suggested()

    async def _act(self, ref: jt.ActivityRef, event_id: int | None = None):
        check = tt.TaskCheck(
            rule=self._in.rule,
            task_id=self._in.task_id,
            step=self._in.task,
            customer_id=self._in.customer_id,
            now=workflow.now(),
            timezone=self._in.timezone,
            event_id=event_id,
        )
        return await workflow.execute_activity(
            ref.name,
            check,
            result_type=ref.result,
            start_to_close_timeout=ref.timeout,
            retry_policy=ref.retry,
        )
