"""What the lead workflow tests share: the shipped lead rules activated as a real plan, RM
teams, leads created and started the way `POST /v1/leads` does it, a worker with the lead
workflow and activities, and readers of the ledger.

Leads are created through `services.leads.create_lead` (rule matching, pinning) and started
through `services.leads_control.start`, so the tests run the production path up to the route.
`keep_history` (tests/workflows/replay_support.py) records the histories the replay test
replays (`pytest tests/workflows --update-goldens`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.leads import LeadActivities
from dsl.plan_ops import Plan
from runtime.contracts import LeadState, LeadView, lead_workflow_id
from services import leads, leads_control
from services.actor import Actor
from services.leads_rm import put_rm
from store.sales import LeadHistory
from store.session import session_scope
from store.user import Role
from store.work import Lead, Task
from tests.workflows import registry_support
from tests.workflows.replay_support import keep_history as keep_history
from tests.workflows.temporal_support import terminate_if_running, time_skipping
from workflows.lead_followup import LeadFollowUpWorkflow

REPO = Path(__file__).resolve().parents[2]
SHIPPED = (REPO / "rulesets" / "corporate_leads.rules").read_text(encoding="utf-8")
INTAKE = Actor("intake", Role.ADMIN)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def lead_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server shared by the lead tests of one module (import it into the test
    module); `lead_worker` terminates each test's leads, so no timer of one test is left to
    move the clock of the next."""
    async with time_skipping() as env:
        yield env


def activate(factory: sessionmaker[Session], source: str = SHIPPED) -> Plan:
    """Compile `source` (the shipped lead rules) and store it as the active version 1."""
    return registry_support.activate(factory, source, "leads.rules")


def team(
    factory: sessionmaker[Session],
    name: str,
    members: dict[str, str | None],
    manager: str | None = None,
    capacity: int | None = None,
) -> None:
    """RM profiles: member -> region, all in team `name` under `manager`."""
    with session_scope(factory) as session:
        for member, region in members.items():
            put_rm(session, member, team=name, region=region, manager=manager, capacity=capacity)


def corporate(lead_id: str, **fields: Any) -> dict[str, Any]:
    """The fields of a website corporate lead (rule `website_corporate`)."""
    return {
        "id": lead_id,
        "name": "某某科技有限公司",
        "source": "website",
        "kind": "corporate",
        "region": "EAST",
        "expected_value": Decimal("500000.00"),
        "customer_level": 1,
        **fields,
    }


def sme(lead_id: str, **fields: Any) -> dict[str, Any]:
    """The fields of a branch-referred SME lead (rule `branch_referral_sme`)."""
    return corporate(lead_id, source="branch_referral", kind="sme", **fields)


async def open_lead(
    client: Client,
    factory: sessionmaker[Session],
    task_queue: str,
    fields: dict[str, Any],
    at: datetime,
    actions_per_run: int | None = None,
) -> WorkflowHandle:
    """Create the lead at `at` and start its follow-up, as `POST /v1/leads` does."""
    with session_scope(factory) as session:
        lead, rule, _ = leads.create_lead(session, INTAKE, fields, at)
        lead_id = lead.id
    workflow_id = await leads_control.start(
        client, rule, lead_id, at, task_queue, actions_per_run=actions_per_run
    )
    return client.get_workflow_handle(workflow_id, result_type=LeadState)


@asynccontextmanager
async def lead_worker(
    client: Client, task_queue: str, factory: sessionmaker[Session]
) -> AsyncIterator[Worker]:
    """A worker with the lead workflow and activities; on exit, the test's leads still running
    are terminated: a timer left on the shared time-skipping server would fire later with no
    worker to serve it and stall other tests' updates."""
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[LeadFollowUpWorkflow],
        activities=LeadActivities(factory).activities(),
        activity_executor=ThreadPoolExecutor(4),
        max_concurrent_activities=4,
    )
    async with worker:
        try:
            yield worker
        finally:
            with session_scope(factory) as session:
                ids = session.scalars(sa.select(Lead.id)).all()
            for lead_id in ids:
                await terminate_if_running(client.get_workflow_handle(lead_workflow_id(lead_id)))


def ledger(factory: sessionmaker[Session], lead_id: str) -> list[tuple[str, str | None, datetime]]:
    """(action, owner it went to or came from, time) of every ledger row, in order."""
    with session_scope(factory) as session:
        rows = session.scalars(
            sa.select(LeadHistory).where(LeadHistory.lead_id == lead_id).order_by(LeadHistory.id)
        ).all()
        return [(r.action, r.to_owner or r.from_owner, r.occurred_at) for r in rows]


def tasks(factory: sessionmaker[Session], lead_id: str) -> list[tuple[str, str, str]]:
    """(kind, assignee, status) of the reminder and escalation tasks about a lead."""
    with session_scope(factory) as session:
        found = session.scalars(sa.select(Task).where(Task.lead_id == lead_id).order_by(Task.id))
        return [(t.kind, t.assignee, t.status) for t in found]


def lead_row(factory: sessionmaker[Session], lead_id: str) -> Lead:
    with session_scope(factory) as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        session.expunge(lead)
        return lead


async def view(handle: WorkflowHandle) -> LeadView:
    return await handle.query("lead_state", result_type=LeadView)
