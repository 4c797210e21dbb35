"""`rulebank demo seed`: fill the configured database with synthetic customers for demos.

A thin shell over `services.demo`, which generates the rows and writes them in batches; this
module reads the settings, checks the schema is current, and shows a progress bar. The same
`--seed` (and `--today`) always produce the same customers. Existing demo rows are kept unless
`--reset` is given, so running the command twice (as `make run` may) does no harm.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from config.settings import get_settings
from services import demo
from store.migrate import SchemaOutOfDateError, ensure_up_to_date
from store.session import make_engine, make_session_factory, session_scope

app = typer.Typer(help="Demo data for trying rulebank out.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Demo data for trying rulebank out."""


@app.command()
def seed(
    customers: Annotated[int, typer.Option("--customers", min=1, help="How many customers.")],
    seed_value: Annotated[
        int, typer.Option("--seed", help="Random seed (same seed, same data).")
    ] = 0,
    today: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Date birthdays and activity are relative to [default: today in Asia/Shanghai].",
        ),
    ] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Replace existing demo data.")] = False,
) -> None:
    """Fill the database named by the settings with synthetic retail and corporate customers."""
    url = get_settings().database.url
    try:
        ensure_up_to_date(url)
    except SchemaOutOfDateError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    day: date = today.date() if today else datetime.now(demo.SHANGHAI).date()
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        with session_scope(factory) as session:
            if reset:
                demo.reset(session)
            elif found := demo.existing(session):
                typer.echo(f"{found} demo customers already present; --reset replaces them")
                return
        started = time.perf_counter()
        columns = (TextColumn("seeding"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, transient=False) as progress:
            task = progress.add_task("seed", total=customers)
            totals = demo.seed_customers(factory, customers, seed=seed_value, today=day,
                                         on_batch=lambda n: progress.advance(task, n))  # fmt: skip
    finally:
        engine.dispose()
    elapsed = time.perf_counter() - started
    rows = ", ".join(f"{count} {table} rows" for table, count in totals.items())
    typer.echo(f"seeded {rows} in {elapsed:.1f} s (seed {seed_value}, today {day})")
