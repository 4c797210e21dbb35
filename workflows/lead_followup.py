"""LeadFollowUpWorkflow: the clock of one sales lead, from assignment to won, lost or the pool.

Started by `POST /v1/leads` (id `lead:<lead id>`) with the matching rule's `LeadSpec`, it first
assigns the lead (`lead.assign`), then sleeps until the earliest of its timers: the next step of
the overdue ladder (steps fire at the times the activity computed from the missed deadline on
the rule's calendar; the `first_contact ... otherwise` action fires at the first-contact
deadline itself) or the end of the owner's ownership window (pool rules). Each timer becomes one
`lead.deadline` activity call that takes the step under the row lock and answers the new state.
People act through updates (`contact`, `convert`, `disqualify`, `claim`, `release`): a
validator rejects what the current state forbids before anything reaches history, then
`lead.act` checks and applies the action atomically (a refusal fails the update with a
`LeadActionRefused` error naming why, and e.g. when a cooldown ends). A workflow lock orders
timers and updates, and a generation counter makes a timer that raced an update re-plan instead
of acting on a stale state. The `lead_state` query answers the live clock. No wall clock, no
I/O: times come from `workflow.now()` or are the exact deadlines being met, so the ledger shows
a lead landing in the pool at exactly the time its rule says.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from runtime.contracts import (
        LEAD_QUERY,
        LEAD_REFUSED,
        LeadCommand,
        LeadInput,
        LeadState,
        LeadView,
    )
    from workflows import lead_types as lt
    from workflows.lead_clock import Wake, next_wake, owner_until


def _refuse(code: str, detail: str, status: int = 409) -> ApplicationError:
    details = {"code": code, "status": status, "until": None}  # as services.leads_pool.Refusal
    return ApplicationError(detail, details, type=LEAD_REFUSED, non_retryable=True)


@workflow.defn(name="LeadFollowUpWorkflow")
class LeadFollowUpWorkflow:
    @workflow.init
    def __init__(self, inp: LeadInput) -> None:
        self._in = inp
        self._state: LeadState | None = inp.state
        self._done, self._seq = inp.ladder_done, inp.seq
        self._calls = self._gen = 0
        self._lock = asyncio.Lock()

    @workflow.query(name=LEAD_QUERY)
    def lead_state(self) -> LeadView:
        wake = next_wake(self._state, self._done)
        return LeadView(
            state=self._state,
            next_step=self._done,
            next_at=wake and wake.at,
            owner_until=owner_until(self._in.lead, self._state, self._done),
        )

    @workflow.update(name="contact")
    async def contact(self, command: LeadCommand) -> LeadState:
        """The owner made contact: the follow-up cadence starts again from now."""
        return await self._act("contact", command)

    @workflow.update(name="convert")
    async def convert(self, command: LeadCommand) -> LeadState:
        return await self._act("convert", command)

    @workflow.update(name="disqualify")
    async def disqualify(self, command: LeadCommand) -> LeadState:
        return await self._act("disqualify", command)

    @workflow.update(name="claim")
    async def claim(self, command: LeadCommand) -> LeadState:
        return await self._act("claim", command)

    @workflow.update(name="release")
    async def release(self, command: LeadCommand) -> LeadState:
        return await self._act("release", command)

    @contact.validator
    def _contact_ok(self, command: LeadCommand) -> None:
        self._check("contact", command)

    @convert.validator
    def _convert_ok(self, command: LeadCommand) -> None:
        self._check("convert", command)

    @disqualify.validator
    def _disqualify_ok(self, command: LeadCommand) -> None:
        self._check("disqualify", command)

    @claim.validator
    def _claim_ok(self, command: LeadCommand) -> None:
        self._check("claim", command)

    @release.validator
    def _release_ok(self, command: LeadCommand) -> None:
        self._check("release", command)

    @workflow.run
    async def run(self, inp: LeadInput) -> LeadState:
        if self._state is None:
            async with self._lock:
                self._set(
                    await self._call(lt.ASSIGN, lt.AssignRequest(**self._base(inp.created_at)))
                )
        while self._live().stage != "closed":
            if self._should_continue():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    inp.model_copy(
                        update={"state": self._state, "ladder_done": self._done, "seq": self._seq}
                    )
                )
            gen, wake = self._gen, next_wake(self._state, self._done)
            due = wake is not None and wake.at <= workflow.now()
            if not due:
                timeout = None if wake is None else wake.at - workflow.now()
                try:
                    await workflow.wait_condition(
                        lambda gen=gen: self._gen != gen or self._should_continue(), timeout=timeout
                    )
                except TimeoutError:
                    due = True
            if due and wake is not None:
                async with self._lock:
                    if self._gen == gen:  # no update changed the state while we waited
                        await self._fire(wake)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._live()

    async def _fire(self, wake: Wake) -> None:
        before = self._live().version
        request = lt.DeadlineRequest(
            **self._base(wake.at), version=before, kind=wake.kind, step=wake.step
        )
        state = await self._call(lt.DEADLINE, request)
        if state.version == before:
            self._done += 1  # a reminder or escalation: the lead stayed where it was
        self._set(state)

    async def _act(self, action: lt.Action, command: LeadCommand) -> LeadState:
        async with self._lock:
            self._check(action, command)  # again: a timer may have moved the lead meanwhile
            request = lt.ActRequest(**self._base(workflow.now()), action=action, command=command)
            try:
                state = await self._call(lt.ACT, request)
            except ActivityError as err:
                cause = err.cause
                if isinstance(cause, ApplicationError) and cause.type == LEAD_REFUSED:
                    raise ApplicationError(
                        cause.message, *cause.details, type=LEAD_REFUSED, non_retryable=True
                    ) from None
                raise ApplicationError(
                    f"{action} was not applied: {cause or err}",
                    type="LeadActionFailed",
                    non_retryable=True,
                ) from None
            self._set(state)
            return state

    def _check(self, action: str, command: LeadCommand) -> None:
        """Refuse what the current state forbids (the activity re-checks against the row)."""
        state = self._state
        if state is None:
            raise _refuse("assigning", "the lead is still being assigned; try again shortly")
        if state.stage == "closed":
            raise _refuse("closed", f"lead {state.lead_id} is closed ({state.status})")
        if action == "claim":
            if state.stage != "pool":
                raise _refuse("not_in_pool", f"lead {state.lead_id} is not in the pool")
        elif state.stage == "pool" and action != "disqualify":
            raise _refuse("in_pool", f"lead {state.lead_id} is in the pool: claim it first")
        elif command.role == "sales" and state.owner != command.actor:
            raise _refuse("not_owner", f"lead {state.lead_id} is not yours", 403)

    def _set(self, state: LeadState) -> None:
        if self._state is None or state.version != self._state.version:
            self._done = 0  # a new owner or deadline: a new ladder
        self._state = state
        self._gen += 1

    def _live(self) -> LeadState:
        assert self._state is not None, "assigned before the loop starts"
        return self._state

    def _should_continue(self) -> bool:
        info = workflow.info()
        return self._calls >= self._in.actions_per_run or info.is_continue_as_new_suggested()

    def _base(self, at: datetime) -> dict[str, Any]:
        self._seq += 1  # deterministic: every action's key is unique within the lead's life
        return {
            "rule": self._in.rule,
            "spec": self._in.lead,
            "lead_id": self._in.lead_id,
            "timezone": self._in.timezone,
            "at": at,
            "key": f"{workflow.info().workflow_id}|{self._seq}",
        }

    async def _call(self, ref: Any, request: Any) -> LeadState:
        self._calls += 1
        return await workflow.execute_activity(
            ref.name,
            request,
            result_type=ref.result,
            start_to_close_timeout=ref.timeout,
            retry_policy=ref.retry,
        )
