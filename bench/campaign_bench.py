"""Campaign bench: messages per second delivered end to end by one worker on the dev server,
beside Temporal's own throughput for a trivial activity, measured in the same run.

One run starts the Temporal dev server (state on disk with the WAL pragmas `make run` uses), a
recording HTTP gateway (a thread of this process), and ONE worker process (this file with
`worker`) registering CampaignRunWorkflow, the campaign activities with a real Deliverer, and a
baseline workflow that calls a no-op activity in a loop. It seeds N customers in a migrated
SQLite database, then measures, on the same worker:

- baseline: `--partitions` workflows in parallel, each running no-op activities back to back
  (activities/s: the ceiling Temporal and the SDK put on any activity-per-step design here);
- campaign: one CampaignRunWorkflow over all N customers, partitioned like a 1M run would be
  (messages/s counted at the gateway, from start to the run's result).

    .venv/bin/python bench/campaign_bench.py                       # 20,000 customers
    .venv/bin/python bench/campaign_bench.py --customers 1000000   # the full figure
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the fast customer seeder lives with the campaign tests
BIN = Path(sys.executable).parent
TOKEN = "bench-token"
RULES = """\
ruleset bench
  timezone "Asia/Shanghai"

policy service_notice
  category service
  requires consent.sms

campaign notice
  category service
  audience customers where consent.sms
  policy service_notice
  send sms "birthday_sms"
"""


@activity.defn(name="bench.noop")
def noop(step: int) -> int:
    return step


@workflow.defn(name="BenchNoopWorkflow", sandboxed=False)  # trivial, and defined in __main__
class NoopWorkflow:
    """Temporal's own floor: one no-op activity after another."""

    @workflow.run
    async def run(self, count: int) -> int:
        for step in range(count):
            await workflow.execute_activity(
                "bench.noop", step, start_to_close_timeout=timedelta(seconds=30)
            )
        return count


async def serve(args: argparse.Namespace) -> None:
    """The worker process: campaign workflow and activities plus the baseline, one worker."""
    from activities.campaign import CampaignActivities
    from config.settings import Settings
    from delivery.deliverer import Deliverer
    from store.session import make_engine, make_session_factory
    from workflows.campaign_run import CampaignRunWorkflow

    settings = Settings(
        templates_dir=REPO / "templates",
        delivery={"sms_gateway_url": args.gateway, "gateway_token": TOKEN},
    )
    factory = make_session_factory(make_engine(args.database))
    deliverer = Deliverer.from_settings(settings, factory)
    client = await Client.connect(args.address, data_converter=pydantic_data_converter)
    worker = Worker(
        client,
        task_queue="bench",
        workflows=[CampaignRunWorkflow, NoopWorkflow],
        activities=[*CampaignActivities(factory, deliverer, settings).activities(), noop],
        activity_executor=ThreadPoolExecutor(args.threads),
        max_concurrent_activities=args.threads,
    )
    print("ready", flush=True)
    await worker.run()


async def baseline(client: Client, workflows: int, steps: int) -> float:
    """No-op activities per second over `workflows` parallel loops of `steps` each."""
    started = time.perf_counter()
    handles = [
        await client.start_workflow(
            NoopWorkflow.run, steps, id=f"noop-{time.time_ns()}-{i}", task_queue="bench"
        )
        for i in range(workflows)
    ]
    await asyncio.gather(*(h.result() for h in handles))
    return workflows * steps / (time.perf_counter() - started)


async def campaign(client: Client, args: argparse.Namespace) -> tuple[float, object]:
    """Seconds for one partitioned run over every customer, and its result."""
    import dsl
    from runtime.contracts import CampaignRunInput, RuleRef

    plan = dsl.compile_source(RULES, "bench.rules").plan
    spec = plan.campaigns[0]
    run_id = f"campaign:bench:notice:{time.time_ns()}"
    input = CampaignRunInput(
        rule=RuleRef(
            ruleset="bench", version=1, plan_hash=plan.hash, rule=spec.name, category="service"
        ),
        campaign=spec,
        root_run_id=run_id,
        timezone=plan.timezone,
        page_size=args.page_size,
        partition_threshold=args.partition_threshold,
        partitions=args.partitions,
    )
    started = time.perf_counter()
    result = await client.execute_workflow(
        "CampaignRunWorkflow", input, id=run_id, task_queue="bench"
    )
    return time.perf_counter() - started, result


async def run(args: argparse.Namespace) -> int:
    from delivery.testing import RecordingGateway
    from store.migrate import upgrade
    from store.session import make_engine, make_session_factory
    from tests.workflows.campaign_seed import seed_customers

    work = Path(tempfile.mkdtemp(prefix="campaign-bench-"))
    database = f"sqlite:///{work / 'rulebank.db'}"
    upgrade(database)
    engine = make_engine(database)
    started = time.perf_counter()
    seed_customers(make_session_factory(engine), args.customers, batch=50_000)
    engine.dispose()
    print(f"seeded {args.customers:,} customers in {time.perf_counter() - started:.1f} s")
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=pydantic_data_converter,
        dev_server_database_filename=str(work / "temporal.db"),
        dev_server_extra_args=[
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
        ],
    )
    with RecordingGateway(token=TOKEN) as gateway:
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "worker",
            "--address",
            env.client.service_client.config.target_host,
            "--database",
            database,
            "--gateway",
            gateway.url,
            "--threads",
            str(args.threads),
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert (await worker.stdout.readline()).startswith(b"ready")
            before = await baseline(env.client, args.partitions, args.baseline_steps)
            seconds, result = await campaign(env.client, args)
            after = await baseline(env.client, args.partitions, args.baseline_steps)
        finally:
            worker.kill()
            await worker.wait()
            await env.shutdown()
        delivered = len(gateway.received)
    shutil.rmtree(work, ignore_errors=True)  # a million customers are ~1 GB of SQLite
    report(args, seconds, result, delivered, (before + after) / 2, (before, after))
    failed = result["counts"].get("failed", 0)
    if failed:
        print(f"warning: {failed} message(s) failed for good (outbox last_error says why)")
    # Exactly once: each customer's message reached the gateway once, or failed visibly.
    return 0 if delivered + failed == args.customers and gateway.duplicates == 0 else 1


def report(args, seconds, result, delivered, noop_rate, noop_runs) -> None:
    rate = delivered / seconds
    pages = result["pages"]
    print(
        f"Python {platform.python_version()}, {platform.machine()}, one worker, "
        f"{args.threads} activity threads, page {args.page_size}, "
        f"{args.partitions} partitions above {args.partition_threshold:,}"
    )
    print(f"{'measure':<38}{'value':>14}")
    rows = [
        ("messages delivered (at the gateway)", f"{delivered:,}"),
        ("campaign run, start to result (s)", f"{seconds:.1f}"),
        ("campaign messages/s", f"{rate:,.0f}"),
        ("campaign pages (activities)/s", f"{pages / seconds:,.1f}"),
        ("baseline no-op activities/s", f"{noop_rate:,.0f}"),
        ("  (before / after the campaign)", f"{noop_runs[0]:,.0f} / {noop_runs[1]:,.0f}"),
        ("messages/s per no-op activity/s", f"{rate / noop_rate:,.2f}x"),
        ("page activity cost vs a no-op", f"{noop_rate / (pages / seconds):,.0f}x"),
        ("extrapolated 1,000,000 customers", f"{1_000_000 / rate / 60:,.1f} min"),
    ]
    for name, value in rows:
        print(f"{name:<38}{value:>14}")
    print(f"result counts: {result['counts']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "worker"])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--partition-threshold", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--baseline-steps", type=int, default=250)
    parser.add_argument("--address")
    parser.add_argument("--database")
    parser.add_argument("--gateway")
    args = parser.parse_args(argv)
    if args.mode == "worker":
        asyncio.run(serve(args))
        return 0
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
