"""`rulebank worker` (run a worker) and `rulebank schedules sync` (reconcile Temporal Schedules).

A worker serves `settings.temporal.task_queue` at `RULEBANK_TEMPORAL_ADDRESS` until SIGINT or
SIGTERM, then shuts down gracefully (running activities finish, unstarted work goes to other
workers), so production runs N of them behind a Temporal cluster and restarts them freely.
`schedules sync` makes the campaign schedules match the active versions: activation does this
by itself, this is for recovery (Temporal was down at activation, or its state was reset).
"""

from __future__ import annotations

import asyncio
import logging
import signal

import typer

from cli.db_commands import checked_url
from config.settings import get_settings
from services.errors import DomainError

app = typer.Typer()
schedules_app = typer.Typer(help="Temporal Schedules of the scheduled campaigns.")


@app.command()
def worker() -> None:
    """Run a Temporal worker (every workflow and activity) until Ctrl-C or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Imported here: every workflow and activity, which no other command needs to load.
    from runtime import worker as runtime_worker

    checked_url()  # exits 2 with the migration message on an unmigrated database
    settings = get_settings()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await runtime_worker.run(settings, stop)

    try:
        asyncio.run(main())
    except DomainError as exc:  # Temporal does not answer
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    typer.echo("worker stopped")


@schedules_app.command("sync")
def sync() -> None:
    """Create, update and delete campaign schedules to match the active versions."""
    from cli.dev_commands import sync_schedules_now

    checked_url()
    try:
        sync_schedules_now(get_settings(), timeout_s=get_settings().temporal.connect_timeout_s)
    except DomainError as exc:  # Temporal does not answer
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
