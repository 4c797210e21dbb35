"""Request and response bodies of the ticket routes.

Input models forbid unknown fields, so no action can set a status, a deadline or an approver
the service did not check. A ticket's `clocks` are the mirror the queue filters on (as of the
last step); `sla` in a detail or action answer is the workflow's live state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from store.work import Ticket
from workflows.ticket_sla_types import SlaState

_NAME = r"^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}$"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Reassign(_Input):
    assignee: str | None = Field(default=None, pattern=_NAME)
    role: str | None = Field(default=None, pattern=_NAME)
    team: str | None = Field(default=None, pattern=_NAME)

    @model_validator(mode="after")
    def _one_target(self) -> Reassign:
        if sum(v is not None for v in (self.assignee, self.role, self.team)) != 1:
            raise ValueError("name exactly one of assignee, role or team")
        return self


class Escalate(_Input):
    priority: str | None = Field(default=None, max_length=16, description="default: one up")
    role: str | None = Field(default=None, pattern=_NAME, description="a role to notify")


class Extend(_Input):
    approver: str = Field(pattern=_NAME, description="the user who approved the extension")


class _Row(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ClockRow(_Row):
    clock: str
    status: str
    due_at: datetime | None
    breached_at: datetime | None
    remaining_seconds: float | None
    cycle: int
    updated_at: datetime


class EscalationOut(_Row):
    idempotency_key: str
    clock: str
    trigger: str
    cycle: int
    action: str
    recipient: str | None
    template: str | None
    priority_from: str | None
    priority_to: str | None
    outcome: str
    escalated_at: datetime


class ExtensionOut(_Row):
    number: int
    mode: str
    previous_due_at: datetime
    due_at: datetime
    approver: str
    requested_by: str
    created_at: datetime


class TicketOut(BaseModel):
    id: str
    category: str
    priority: str
    status: str
    channel: str
    team: str
    subject: str
    customer_id: str | None
    branch: str | None
    assignee: str | None
    assigned_role: str | None
    named_employee: str | None
    regulatory: bool
    opened_at: datetime
    reported_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    sla_rule: str | None
    ruleset: str | None
    ruleset_version: int | None
    plan_hash: str | None
    timezone: str | None
    deadline_at: datetime | None
    extensions: int
    clocks: list[ClockRow]


class TicketDetail(TicketOut):
    sla: SlaState | None  # live, from the workflow
    sla_error: str | None  # why `sla` is missing although the ticket has an SLA
    escalations: list[EscalationOut]
    extension_records: list[ExtensionOut]


class ActionResult(BaseModel):
    ticket: TicketOut
    sla: SlaState | None  # the SLA state right after the step (null: no SLA applies)


_COLUMNS = [name for name in TicketOut.model_fields if name not in ("sla_rule", "clocks")]


def ticket_out(ticket: Ticket, records: dict[str, list[Any]]) -> dict[str, Any]:
    """The response body of a ticket row with its clock mirror."""
    out = {name: getattr(ticket, name) for name in _COLUMNS}
    out["sla_rule"] = ticket.sla
    out["clocks"] = [ClockRow.model_validate(row) for row in records["clocks"]]
    return out
