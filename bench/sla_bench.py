"""SLA benchmark: due-time calculations per second, and action-to-state latency for 1,000
concurrent tickets on the Temporal dev server.

1. Due times: the same random (start, business seconds) pairs on the official CN calendar with
   09:00-18:00 hours, computed by the SLA clock model (`workflows.ticket_sla_clock`, what the
   workflow runs), by `calendars.business.BusinessCalendar` (the task deadlines' calendar) and by
   a minute-stepping reference on a prefix; all must agree, or the run exits 1. A last row
   times the engine's view (every clock's due, remaining and breach, after two pauses), which
   is what the `sla_state` query computes on every `GET /v1/tickets/{id}`.
2. Latency: a dev server (`temporal server start-dev`, state in a temp folder), a SQLite database
   (or a throwaway database created through `--postgres-admin-url` and dropped afterwards), one
   in-process worker like `rulebank worker`'s; N tickets are started, then every ticket is sent
   one action (wait_on_customer) at once. Each latency is from sending the update to holding the
   SLA state after it, which includes the workflow task and the `ticket.record` activity writing
   the ticket row, clock mirror and audit entry. Then a `sla_state` query per ticket. The SLA is
   the shipped `rulesets/service.rules` complaint rule.

    .venv/bin/python bench/sla_bench.py [--calc 100000] [--tickets 1000] [--skip-temporal]
        [--postgres-admin-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import chinese_calendar
import sqlalchemy as sa

import dsl
from calendars import get_calendar, parse_hours
from runtime.contracts import RuleRef
from workflows import ticket_sla_clock as clock
from workflows.ticket_sla_types import CalendarSnapshot

TZ = "Asia/Shanghai"
HOURS = parse_hours("09:00", "18:00")
YEARS = (2024, 2025, 2026)
SERVICE_RULES = Path(__file__).resolve().parents[1] / "rulesets" / "service.rules"


def snapshot() -> CalendarSnapshot:
    return CalendarSnapshot(
        name="CN",
        timezone=TZ,
        week=[("09:00", "18:00")] * 5 + [None, None],
        day_hours=("09:00", "18:00"),
        years=list(YEARS),
        holidays=sorted(d for d in chinese_calendar.holidays if d.year in YEARS),
        workdays=sorted(d for d in chinese_calendar.workdays if d.year in YEARS),
    )


def cases(count: int, seed: int = 1) -> list[tuple[dt.datetime, int]]:
    rng = random.Random(seed)
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    return [
        (
            base + dt.timedelta(minutes=rng.randrange(0, 2 * 365 * 1440)),
            rng.choice([2, 8, 45, 135]) * 3600,
        )
        for _ in range(count)
    ]


def stepping(cal: clock.WorkCalendar, start: dt.datetime, seconds: int) -> dt.datetime:
    """The reference: walk minute by minute, counting minutes inside business hours."""
    at, left = start, seconds
    while left > 0:
        nxt = at.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        span = cal.between(at, nxt)
        if span >= left:
            return at + dt.timedelta(seconds=left) if span == (nxt - at).total_seconds() else nxt
        left -= span
        at = nxt
    return at


def rate(fn, items) -> tuple[float, list]:
    began = time.perf_counter()
    out = [fn(*item) for item in items]
    return len(items) / (time.perf_counter() - began), out


def engines(items: list[tuple[dt.datetime, int]]) -> list[tuple[object, dt.datetime]]:
    """A complaint SLA per case, paused and resumed twice: what the `sla_state` query computes."""
    from workflows.ticket_sla_engine import SlaEngine
    from workflows.ticket_sla_types import TicketAction, TicketFields, TicketSLAInput

    plan = dsl.compile_source(SERVICE_RULES.read_text(), "service.rules").plan
    rule = RuleRef(ruleset=plan.ruleset, version=1, plan_hash=plan.hash, rule="complaint")
    cal, built = snapshot(), []
    for number, (start, _) in enumerate(items):
        ticket = TicketFields(
            id=f"V{number}",
            category="complaint",
            priority="normal",
            status="new",
            channel="phone",
            team="desk",
            opened_at=start,
        )
        engine = SlaEngine(TicketSLAInput(rule=rule, sla=plan.slas[0], ticket=ticket, calendar=cal))
        engine.start(start)
        for hours, action in (
            (2, "wait_on_customer"),
            (20, "resume"),
            (30, "wait_on_customer"),
            (50, "resume"),
        ):
            engine.apply(
                TicketAction(action=action, actor="bench"), start + dt.timedelta(hours=hours)
            )
        built.append((engine, start + dt.timedelta(hours=60)))
    return built


def bench_due_times(count: int, reference: int) -> bool:
    items = cases(count)
    ours = clock.WorkCalendar(snapshot())
    peer = get_calendar("CN")
    rows = []
    fresh = lambda s, n: clock.WorkCalendar(ours.snapshot).add(s, n)  # noqa: E731 - no cache
    for name, fn in (
        ("SLA clock model (cached days)", ours.add),
        ("SLA clock model (fresh calendar)", fresh),
        (
            "BusinessCalendar.add_business_seconds",
            lambda s, n: peer.add_business_seconds(s, n, hours=HOURS, tz=TZ),
        ),
    ):
        speed, out = rate(fn, items)
        rows.append((name, len(items), speed, out))
    ref_speed, ref_out = rate(lambda s, n: stepping(ours, s, n), items[:reference])
    agree = all(r[3] == rows[0][3] for r in rows) and ref_out == rows[0][3][:reference]
    rows.append(("minute-stepping reference", reference, ref_speed, ref_out))
    views = engines(items[:2000])
    view_speed, _ = rate(lambda engine, at: engine.view(at), views)
    print(f"\nDue-time calculation ({platform.python_version()}, {platform.machine()})")
    print(f"| {'method':<40} | {'cases':>7} | {'due times/s':>12} |")
    print(f"| {'-' * 40} | {'-' * 6}: | {'-' * 11}: |")
    for name, n, speed, _ in rows:
        print(f"| {name:<40} | {n:>7,} | {speed:>12,.0f} |")
    label = "engine view: all clocks, paused twice"
    print(f"| {label:<40} | {len(views):>7,} | {view_speed:>12,.0f} |")
    print("-> agree" if agree else "-> DISAGREE")
    return agree


async def bench_latency(tickets: int, database_url: str | None) -> None:
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
            while True:
                with session_scope(factory) as session:
                    pending = session.scalar(
                        sa.select(sa.func.count()).where(
                            Ticket.sla_seq < 1, Ticket.id.like(f"B{run}-%")
                        )
                    )
                if not pending:
                    break
                await asyncio.sleep(0.05)
            started = time.perf_counter() - began

            async def act(handle) -> float:
                sent = time.perf_counter()
                state = await handle.execute_update(
                    "act",
                    TicketAction(action="wait_on_customer", actor="bench"),
                    result_type=SlaState,
                )
                assert state.paused
                return time.perf_counter() - sent

            began = time.perf_counter()
            latencies = sorted(await asyncio.gather(*(act(h) for h in handles)))
            acted = time.perf_counter() - began

            async def query(handle) -> float:
                sent = time.perf_counter()
                state = await handle.query("sla_state", result_type=SlaState)
                assert state.paused
                return time.perf_counter() - sent

            queries = sorted(await asyncio.gather(*(query(h) for h in handles)))
            await asyncio.gather(*(h.terminate() for h in handles))
        pct = lambda xs, p: xs[min(len(xs) - 1, int(p * len(xs)))] * 1000  # noqa: E731
        print(
            f"\nAction-to-state latency, {tickets:,} concurrent tickets, dev server, "
            f"{'SQLite' if url.startswith('sqlite') else 'PostgreSQL'}"
        )
        print(
            f"started {tickets:,} workflows (first step recorded) in {started:.1f} s; "
            f"all actions answered in "
            f"{acted:.1f} s ({tickets / acted:,.0f} actions/s)"
        )
        print("| measure | p50 ms | p95 ms | p99 ms | max ms |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, xs in (
            ("update -> state (incl. DB write)", latencies),
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calc", type=int, default=100_000, help="due-time cases")
    parser.add_argument("--reference", type=int, default=300, help="minute-stepping cases")
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument(
        "--postgres-admin-url",
        default=None,
        help="create (and drop) a throwaway PostgreSQL database through this URL",
    )
    parser.add_argument("--skip-temporal", action="store_true")
    args = parser.parse_args(argv)
    agree = bench_due_times(args.calc, args.reference)
    if not args.skip_temporal:
        with throwaway_database(args.postgres_admin_url) as url:
            asyncio.run(bench_latency(args.tickets, url))
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
