"""The latency half of bench/sla_bench.py: 1,000 concurrent tickets on the Temporal dev server.

A dev server with its state in a temp folder, a migrated database (SQLite, or a throwaway
PostgreSQL database), one in-process worker for TicketSLAWorkflow and its activity; see the
docstring of bench/sla_bench.py for what is measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa
from sla_bench import SERVICE_RULES, snapshot

import dsl
from runtime.contracts import RuleRef


async def recorded(factory, run: str, seq: int) -> None:
    """Wait until every ticket of this run has step `seq` in the database."""
    from store.session import session_scope
    from store.work import Ticket

    query = sa.select(sa.func.count()).where(Ticket.sla_seq < seq, Ticket.id.like(f"B{run}-%"))
    while True:
        with session_scope(factory) as session:
            if not session.scalar(query):
                return
        await asyncio.sleep(0.05)


async def bench_latency(tickets: int, database_url: str | None, rate: float = 0) -> None:
    from temporalio.worker import Worker

    from activities.tickets import TicketActivities
    from config.settings import TemporalSettings
    from runtime import devserver
    from runtime.temporal_client import connect
    from store.migrate import upgrade
    from store.session import make_engine, make_session_factory, session_scope
    from store.work import Ticket
    from workflows.ticket_sla import TicketSLAWorkflow
    from workflows.ticket_sla_types import SlaState, TicketAction, TicketFields, TicketSLAInput

    folder = Path(tempfile.mkdtemp(prefix="sla-bench-"))
    url = database_url or f"sqlite:///{folder}/bench.db"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    settings = TemporalSettings(
        address=f"127.0.0.1:{devserver.free_port()}",
        ui_port=devserver.free_port(),
        dev_server_db=folder / "t.db",
        task_queue="sla-bench",
    )
    process = devserver.start(settings, log=folder / "temporal.log")
    try:
        # wait_ready runs its own event loop: give it a thread of its own.
        await asyncio.to_thread(devserver.wait_ready, settings, process, 60)
        client = await connect(settings)
        now = dt.datetime.now(dt.UTC)
        run = f"{int(time.time())}"
        items = [
            TicketFields(
                id=f"B{run}-{n}",
                category="complaint",
                priority="normal",
                status="new",
                channel="phone",
                team="desk",
                opened_at=now,
            )
            for n in range(tickets)
        ]
        plan = dsl.compile_source(SERVICE_RULES.read_text(), "service.rules").plan
        rule = RuleRef(
            ruleset=plan.ruleset,
            version=1,
            plan_hash=plan.hash,
            rule="complaint",
            category="service",
        )
        with session_scope(factory) as session:
            session.add_all(Ticket(**t.model_dump(), subject="bench") for t in items)
        cal = snapshot().model_copy(update={"years": [now.year]})
        async with Worker(
            client,
            task_queue="sla-bench",
            workflows=[TicketSLAWorkflow],
            activities=TicketActivities(factory).activities(),
            activity_executor=ThreadPoolExecutor(15),
            max_concurrent_activities=15,
            # The SDK's default cache (1,000) evicts at this size: every action would replay.
            max_cached_workflows=max(2 * tickets, 1000),
        ):
            began = time.perf_counter()
            handles = await asyncio.gather(
                *(
                    client.start_workflow(
                        "TicketSLAWorkflow",
                        TicketSLAInput(rule=rule, sla=plan.slas[0], ticket=t, calendar=cal),
                        id=f"ticket:{t.id}",
                        task_queue="sla-bench",
                    )
                    for t in items
                )
            )
            # Every workflow's first step (its start record) lands before the actions go out.
            await recorded(factory, run, 1)
            started = time.perf_counter() - began

            async def act(handle, delay: float) -> float:
                await asyncio.sleep(delay)
                sent = time.perf_counter()
                state = await handle.execute_update(
                    "act",
                    TicketAction(action="wait_on_customer", actor="bench"),
                    result_type=SlaState,
                )
                assert state.paused
                return time.perf_counter() - sent

            began = time.perf_counter()
            spacing = 1 / rate if rate else 0.0  # 0: every action at once (a burst)
            latencies = sorted(
                await asyncio.gather(*(act(h, n * spacing) for n, h in enumerate(handles)))
            )
            acted = time.perf_counter() - began
            await recorded(factory, run, 2)
            written = time.perf_counter() - began

            async def query(handle) -> float:
                sent = time.perf_counter()
                state = await handle.query("sla_state", result_type=SlaState)
                assert state.paused
                return time.perf_counter() - sent

            queries = sorted(await asyncio.gather(*(query(h) for h in handles)))
            await asyncio.gather(*(h.terminate() for h in handles))
        pct = lambda xs, p: xs[min(len(xs) - 1, int(p * len(xs)))] * 1000  # noqa: E731
        pace = f"{rate:g} actions/s" if rate else "all actions at once"
        print(
            f"\nAction-to-state latency, {tickets:,} concurrent tickets, {pace}, dev server, "
            f"{'SQLite' if url.startswith('sqlite') else 'PostgreSQL'}"
        )
        print(
            f"started {tickets:,} workflows (first step recorded) in {started:.1f} s; "
            f"all actions answered in {acted:.1f} s ({tickets / acted:,.0f} actions/s), "
            f"all recorded in the database {written:.1f} s after the first was sent"
        )
        print("| measure | p50 ms | p95 ms | p99 ms | max ms |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, xs in (
            ("action (update) -> SLA state", latencies),
            ("sla_state query", queries),
        ):
            print(
                f"| {name} | {pct(xs, 0.5):.0f} | {pct(xs, 0.95):.0f} | {pct(xs, 0.99):.0f} | "
                f"{xs[-1] * 1000:.0f} |"
            )
        print(f"(mean update {statistics.fmean(latencies) * 1000:.0f} ms)")
    finally:
        devserver.stop(process)
        engine.dispose()


@contextlib.contextmanager
def throwaway_database(admin_url: str | None) -> Iterator[str | None]:
    """None (SQLite in a temp folder), or a fresh PostgreSQL database dropped afterwards."""
    if admin_url is None:
        yield None
        return
    name = f"sla_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
