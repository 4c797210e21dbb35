"""Pure functions of a lead's state that the follow-up workflow plans its timers with.

`next_wake` is the earliest timer of an owned lead: the next overdue-ladder step not yet taken,
or the end of the ownership window, the window first on a tie (the lead then leaves its owner
once, by the window). `owner_until` is when the owner loses the lead unless they act: the end of
the window, or the first remaining ladder step that takes the lead away (a `reassign` with turns
left or `then return to pool`, or `return to pool`). Deterministic, no I/O: the workflow and
its query call them, and tests call them directly.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from dsl.plan_ops import LadderActionSpec, LeadSpec
from runtime.contracts import LeadState


class Wake(NamedTuple):
    at: datetime
    kind: str  # "ladder" | "ownership"
    step: int | None  # LadderAt.step of a ladder timer


def next_wake(state: LeadState | None, done: int) -> Wake | None:
    """The earliest pending timer of an owned lead; None in the pool, closed or unassigned."""
    if state is None or state.stage != "owned":
        return None
    wakes = []
    if done < len(state.ladder):
        step = state.ladder[done]
        wakes.append(Wake(step.at, "ladder", step.step))
    if state.ownership_ends_at is not None:
        wakes.append(Wake(state.ownership_ends_at, "ownership", None))
    return min(wakes, key=lambda w: (w.at, w.kind != "ownership"), default=None)


def ladder_action(spec: LeadSpec, step: int) -> LadderActionSpec | None:
    """The action of ladder step `step` (-1: the first-contact `otherwise`)."""
    return spec.first_contact_otherwise if step < 0 else spec.overdue[step].action


def takes_lead(action: LadderActionSpec | None, reassignments: int) -> bool:
    """Whether taking `action` now moves the lead away from its owner."""
    if action is None:
        return False
    if action.kind == "return_to_pool":
        return True
    return action.kind == "reassign_limit" and (
        action.then_pool or reassignments < (action.limit or 0)
    )


def owner_until(spec: LeadSpec, state: LeadState | None, done: int) -> datetime | None:
    """When the owner loses the lead unless they act first; None when nothing would take it."""
    if state is None or state.stage != "owned":
        return None
    ends = [state.ownership_ends_at] if state.ownership_ends_at else []
    for step in state.ladder[done:]:
        if takes_lead(ladder_action(spec, step.step), state.reassignments):
            ends.append(step.at)
            break
    return min(ends, default=None)
