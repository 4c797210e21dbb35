"""A campaign worker as a process of its own, for tests that kill it (`kill -9`) and the bench.

    python -m tests.workflows.campaign_crash_worker --address HOST:PORT --task-queue Q \
        --database URL --gateway URL --token T [--threads N]

It composes what runtime/worker.py composes for campaigns (CampaignRunWorkflow, the campaign
activities in a thread pool, a Deliverer sending SMS to the given gateway) and prints `ready`
once polling. Until track D's worker exists this is the composition the crash test kills.
"""

from __future__ import annotations

import argparse
import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.campaign import CampaignActivities
from config.settings import Settings
from delivery.deliverer import Deliverer
from store.session import make_engine, make_session_factory
from workflows.campaign_run import CampaignRunWorkflow

REPO = Path(__file__).resolve().parents[2]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="campaign_crash_worker")
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--token", default=None)
    parser.add_argument("--threads", type=int, default=4)
    # The cap on a template's own CPU time per render (delivery/templates.py), which a busy
    # machine does not count against; unset, the production default applies (config/settings.py).
    parser.add_argument("--render-timeout-ms", type=int, default=None)
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    delivery = {"sms_gateway_url": args.gateway, "gateway_token": args.token}
    if args.render_timeout_ms is not None:
        delivery["render_timeout_ms"] = args.render_timeout_ms
    settings = Settings(environment="dev", templates_dir=REPO / "templates", delivery=delivery)
    factory = make_session_factory(make_engine(args.database))
    deliverer = Deliverer.from_settings(settings, factory)
    client = await Client.connect(args.address, data_converter=pydantic_data_converter)
    worker = Worker(
        client,
        task_queue=args.task_queue,
        workflows=[CampaignRunWorkflow],
        activities=CampaignActivities(factory, deliverer, settings).activities(),
        activity_executor=ThreadPoolExecutor(args.threads),
        max_concurrent_activities=args.threads,
    )
    print("ready", flush=True)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(serve(parse()))
