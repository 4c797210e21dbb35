"""The worker's composition root: every workflow and activity of rulebank on one task queue.

`build_worker` wires the activity classes (each constructed once with the session factory, the
`Deliverer` and the settings, so connections and template environments are shared by every
activity call) and the workflow interpreters into a Temporal `Worker`. Activities are sync
(SQLAlchemy, SMTP, HTTP), so they run in a thread pool sized to the worker's activity slots.
`run` is what `rulebank worker` executes: connect, serve until asked to stop, then shut down
gracefully, letting running activities finish for `temporal.graceful_shutdown_s` while
Temporal hands unstarted work to other workers. Workers are stateless: run as many as load needs.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.campaign import CampaignActivities
from activities.journey import JourneyActivities
from activities.leads import LeadActivities
from activities.tasks import TaskActivities
from activities.tickets import TicketActivities
from config.settings import Settings
from delivery.deliverer import Deliverer
from runtime.temporal_client import connect
from store.session import make_engine, make_session_factory
from workflows.campaign_run import CampaignRunWorkflow
from workflows.journey import JourneyWorkflow
from workflows.lead_followup import LeadFollowUpWorkflow
from workflows.task_followup import TaskFollowUpWorkflow
from workflows.ticket_sla import TicketSLAWorkflow

log = logging.getLogger(__name__)
# Activity threads: one database connection each at most, and the PostgreSQL pool holds 15.
MAX_ACTIVITIES = 15
WORKFLOWS = [
    CampaignRunWorkflow, JourneyWorkflow, TaskFollowUpWorkflow, LeadFollowUpWorkflow,
    TicketSLAWorkflow,
]  # fmt: skip
# Each class is built once per worker with (session_factory, deliverer, settings).
ACTIVITY_CLASSES = [
    CampaignActivities, JourneyActivities, TaskActivities, LeadActivities, TicketActivities,
]  # fmt: skip


def build_worker(
    client: Client,
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    deliverer: Any | None = None,
) -> Worker:
    """A worker on `settings.temporal.task_queue` with every workflow and activity."""
    if deliverer is None:
        deliverer = Deliverer.from_settings(settings, session_factory)
    activities: list[Any] = []
    for cls in ACTIVITY_CLASSES:
        activities += cls(session_factory, deliverer, settings).activities()
    return Worker(
        client,
        task_queue=settings.temporal.task_queue,
        workflows=WORKFLOWS,
        activities=activities,
        activity_executor=ThreadPoolExecutor(MAX_ACTIVITIES, thread_name_prefix="activity"),
        max_concurrent_activities=MAX_ACTIVITIES,
        graceful_shutdown_timeout=timedelta(seconds=settings.temporal.graceful_shutdown_s),
    )


async def run(settings: Settings, stop: asyncio.Event, *, connect_timeout_s: float = 60) -> None:
    """Serve the task queue until `stop` is set, then shut down gracefully."""
    client = await connect(settings.temporal, timeout_s=connect_timeout_s)
    engine = make_engine(settings.database.url, echo=settings.database.echo)
    factory = make_session_factory(engine)
    deliverer = Deliverer.from_settings(settings, factory)
    try:
        worker = build_worker(client, settings, factory, deliverer=deliverer)
        async with worker:  # leaving the block is Worker.shutdown(): graceful
            log.info("worker: serving task queue %r at %s", settings.temporal.task_queue,
                     settings.temporal.address)  # fmt: skip
            await stop.wait()
    finally:
        deliverer.channels.close()  # SMTP connections, HTTP clients
        engine.dispose()
