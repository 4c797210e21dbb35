"""`rulebank run`: the whole product on embedded defaults, in one command (`make run`).

Order: start the Temporal dev server (state in `.rulebank/temporal.db`), bootstrap the demo
while it starts (migrate the SQLite file, demo users and keys, demo customers, shipped rulesets
through review and activation), start the API, wait for Temporal, start one worker, reconcile
the campaign schedules, wait until the API answers `/healthz` and the worker polls its
task queue, and print the addresses and demo keys.

The worker and the API are child processes (`rulebank worker`, `rulebank api`), not tasks in
this process: that is exactly how production runs them (separate, stateless, restartable), a
slow workflow task never delays an API request, and each one shuts down gracefully on SIGTERM
with its own code path. Children run in their own sessions, so Ctrl-C (SIGINT) or SIGTERM
reaches only this process, which stops them in reverse order: API, worker, Temporal. If a child
dies, everything stops with an error. Everything lives under `.rulebank/`, so a second run
resumes where the first stopped (bootstrap and reconcile are idempotent).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from cli.dev_commands import bootstrap_demo, print_keys, sync_schedules_now
from config.settings import Settings, get_settings
from runtime import devserver
from runtime.temporal_client import connect
from services.errors import DomainError

app = typer.Typer()
STATE = Path(".rulebank")
STOP_ORDER = ("api", "worker", "temporal")


class _Stopping(Exception):
    pass


def _on_signal(signum: int, _frame: object) -> None:
    # Further signals are ignored: shutting down is already under way, in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise _Stopping(signal.Signals(signum).name)


@app.command()
def run(
    customers: Annotated[int, typer.Option(help="Demo customers to seed when none.")] = 2_000,
    rulesets: Annotated[Path, typer.Option(help="Rule files to activate.")] = Path("rulesets"),
    templates: Annotated[Path | None, typer.Option(help="Templates folder.")] = None,
    temporal: Annotated[
        bool, typer.Option(help="Start the embedded Temporal dev server (else use the address).")
    ] = True,
    timeout: Annotated[float, typer.Option(help="Seconds each part may take to start.")] = 60,
) -> None:
    """Start Temporal, the demo data, a worker and the API; Ctrl-C stops everything."""
    settings = get_settings()
    templates = (templates or settings.templates_dir).resolve()
    children: list[tuple[str, subprocess.Popen]] = []
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    code = 0
    try:
        if temporal:
            if devserver.port_in_use(settings.temporal.address):
                typer.echo(f"error: {settings.temporal.address} is in use (another `rulebank run`?)"
                           "; use --no-temporal to use that server", err=True)  # fmt: skip
                raise typer.Exit(2)
            STATE.mkdir(exist_ok=True)
            log = STATE / "temporal.log"
            children.append(("temporal", devserver.start(settings.temporal, log=log)))
        keys = bootstrap_demo(settings, customers=customers, rulesets=rulesets, templates=templates)
        env = {**os.environ, "RULEBANK_TEMPLATES_DIR": str(templates)}
        host, port = settings.api.host, settings.api.port
        api_cmd = _rulebank("api", "--host", host, "--port", str(port))
        children.append(("api", devserver.spawn(api_cmd, env=env)))  # starts while Temporal does
        if temporal:
            devserver.wait_ready(settings.temporal, children[0][1], timeout)
        children.append(("worker", devserver.spawn(_rulebank("worker"), env=env)))
        sync_schedules_now(settings, timeout_s=timeout)  # while the worker starts
        _wait_http(f"http://{host}:{port}/healthz", children[-2][1], timeout)
        asyncio.run(_wait_polling(settings, children[-1][1], timeout))
        _banner(settings, keys)
        code = _watch(children)
    except _Stopping as stop:
        typer.echo(f"\n{stop}: stopping")
    except (RuntimeError, TimeoutError, DomainError) as exc:
        typer.echo(f"error: {exc}", err=True)
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # The API first (no new work), then the worker (drains), Temporal last.
        for name, process in sorted(children, key=lambda c: STOP_ORDER.index(c[0])):
            rc = devserver.stop(process)
            # uvicorn re-raises SIGTERM after its clean shutdown: that is a normal stop too.
            typer.echo(f"stopped {name}" + ("" if rc in (0, -signal.SIGTERM) else f" ({rc})"))
    raise typer.Exit(code)


def _rulebank(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli.main", *args]


def _wait_http(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited with code {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.2)


async def _wait_polling(settings: Settings, process: subprocess.Popen, timeout: float) -> None:
    """Wait until the worker `process` polls its task queue (Temporal lists it as a poller)."""
    client = await connect(settings.temporal)
    request = DescribeTaskQueueRequest(
        namespace=settings.temporal.namespace,
        task_queue=TaskQueue(name=settings.temporal.task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    deadline = time.monotonic() + timeout
    # The SDK's default identity is "<pid>@<host>": a poller left by an earlier worker is not it.
    while True:
        pollers = (await client.workflow_service.describe_task_queue(request)).pollers
        if any(p.identity.startswith(f"{process.pid}@") for p in pollers):
            return
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited with code {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the worker did not poll within {timeout:.0f} s")
        await asyncio.sleep(0.2)


def _watch(children: list[tuple[str, subprocess.Popen]]) -> int:
    """Wait until a signal (raises _Stopping) or until a child dies (returns 1)."""
    while True:
        for name, process in children:
            if process.poll() is not None:
                typer.echo(f"error: {name} exited with code {process.returncode}", err=True)
                return 1
        time.sleep(0.5)


def _banner(settings: Settings, keys: dict[str, str]) -> None:
    api = f"http://{settings.api.host}:{settings.api.port}"
    host, _ = devserver.host_port(settings.temporal.address)
    t = settings.temporal
    typer.echo("")
    typer.echo("rulebank is running (Ctrl-C stops everything; state in .rulebank/)")
    typer.echo(f"  API          {api}")
    typer.echo(f"  API docs     {api}/docs")
    typer.echo(f"  Temporal     {t.address}  (namespace {t.namespace}, task queue {t.task_queue})")
    typer.echo(f"  Temporal UI  http://{host}:{t.ui_port}")
    print_keys(keys)
