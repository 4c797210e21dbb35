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
   in-process worker; N tickets are started, then every ticket is sent one action
   (wait_on_customer), all at once or `--rate` per second. A latency runs from sending the update
   to holding the SLA state after it (the workflow task that applies it); the `ticket.record`
   activity writes ticket row, clock mirror and audit entry right behind, and the run reports
   when every step was in the database. Then one `sla_state` query per ticket, all at once. The
   SLA is the shipped `rulesets/service.rules` complaint rule.

    .venv/bin/python bench/sla_bench.py [--calc 100000] [--tickets 1000] [--rate 0]
        [--skip-temporal] [--postgres-admin-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import platform
import random
import sys
import time
from pathlib import Path

import chinese_calendar

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
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="actions per second (default 0: all tickets' actions at once)",
    )
    parser.add_argument("--skip-temporal", action="store_true")
    args = parser.parse_args(argv)
    agree = bench_due_times(args.calc, args.reference)
    if not args.skip_temporal:
        from sla_bench_latency import bench_latency, throwaway_database

        with throwaway_database(args.postgres_admin_url) as url:
            asyncio.run(bench_latency(args.tickets, url, args.rate))
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
