"""Leads on Temporal: start a lead's follow-up, read its live clock, send people's actions.

The workflow id is `lead:<lead id>`, started once (REJECT_DUPLICATE: repeating a create, or a
retry after Temporal was down, finds the running one). Actions are workflow updates, so the
caller gets the lead's new state or the refusal the workflow or its activity decided; a
refusal becomes `LeadRefusedError` with its code and, for cooldowns and daily limits, `until`.
Queries and updates are bounded in time: a follow-up whose worker does not answer is a 503
(an action sent then may still apply when the worker returns; the response says so).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio.client import Client, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from runtime.contracts import (
    LEAD_QUERY,
    LEAD_REFUSED,
    LeadCommand,
    LeadInput,
    LeadState,
    LeadView,
    lead_workflow_id,
)
from runtime.temporal_client import TemporalUnavailableError
from services.errors import ConflictError
from services.leads_pool import LeadRefusedError
from services.leads_rules import LeadRule

WORKFLOW = "LeadFollowUpWorkflow"
QUERY_TIMEOUT = timedelta(seconds=3)
UPDATE_TIMEOUT = timedelta(seconds=15)


async def start(
    client: Client,
    rule: LeadRule,
    lead_id: str,
    created_at: datetime,
    task_queue: str,
    *,
    actions_per_run: int | None = None,
) -> str:
    """Start the lead's follow-up unless it already runs (or ran); its workflow id."""
    workflow_id = lead_workflow_id(lead_id)
    extra = {} if actions_per_run is None else {"actions_per_run": actions_per_run}
    payload = LeadInput(
        rule=rule.rule,
        lead=rule.spec,
        lead_id=lead_id,
        timezone=rule.timezone,
        created_at=created_at,
        **extra,
    )
    try:
        await client.start_workflow(
            WORKFLOW,
            payload,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        pass  # a repeated create: the lead's follow-up exists
    except RPCError as exc:
        raise TemporalUnavailableError(f"the lead's follow-up could not start: {exc}") from None
    return workflow_id


async def live(client: Client, lead_id: str) -> LeadView | None:
    """The follow-up's live state; None when it cannot answer now."""
    handle = client.get_workflow_handle(lead_workflow_id(lead_id))
    try:
        return await asyncio.wait_for(
            handle.query(LEAD_QUERY, result_type=LeadView), QUERY_TIMEOUT.total_seconds()
        )
    except (RPCError, WorkflowQueryFailedError, TimeoutError):
        return None


async def command(client: Client, lead_id: str, action: str, cmd: LeadCommand) -> LeadState:
    """Send `action` as an update; the lead's new state, or the refusal as an error."""
    handle = client.get_workflow_handle(lead_workflow_id(lead_id))
    try:
        return await asyncio.wait_for(
            handle.execute_update(action, cmd, result_type=LeadState),
            UPDATE_TIMEOUT.total_seconds(),
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == LEAD_REFUSED:
            details = cause.details[0] if cause.details else {}
            raise LeadRefusedError(
                cause.message,
                code=details.get("code", "refused"),
                status=details.get("status", 409),
                until=details.get("until"),
            ) from None
        raise ConflictError(f"{action} was not applied: {cause or exc}") from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ConflictError(f"lead {lead_id} has no running follow-up") from None
        raise TemporalUnavailableError(f"Temporal refused the {action}: {exc}") from None
    except TimeoutError:
        raise TemporalUnavailableError(
            f"the lead's follow-up did not answer in time; the {action} may still apply"
        ) from None
