"""`rulebank run` end to end: the whole embedded product in a temporary folder, twice.

The first run starts from nothing (free ports, state under the folder's `.rulebank/`): the API
answers, Temporal has one schedule per scheduled campaign of the shipped rulesets, a campaign
can be started through the API, and SIGINT stops every child process within a deadline. The
second run resumes: the same users, versions and schedules (nothing created twice) and the
workflow the first run started is still in Temporal's history.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from runtime_samples import REPO, shipped_plan

from config.settings import TemporalSettings
from runtime import devserver
from runtime.contracts import schedule_id
from runtime.temporal_client import connect

SCHEDULED = sorted(
    schedule_id(plan.ruleset, c.name)
    for plan in map(shipped_plan, ("retail_engagement", "rural_bank"))
    for c in plan.campaigns
    if c.schedule
)


def _children(pid: int) -> list[int]:
    """Pids whose parent is `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited while we looked
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Run:
    """One `rulebank run` child process in `folder`, its output in `folder/run-N.log`."""

    def __init__(self, folder: Path, env: dict[str, str], number: int) -> None:
        self.log = folder / f"run-{number}.log"
        folders = ["--rulesets", str(REPO / "rulesets"), "--templates", str(REPO / "templates")]
        command = [sys.executable, "-m", "cli.main", "run", "--customers", "200", *folders]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 90) -> float:
        started, deadline = time.monotonic(), time.monotonic() + timeout
        while "rulebank is running" not in self.output():
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.2)
        return time.monotonic() - started

    def interrupt(self, timeout: float = 40) -> list[int]:
        """SIGINT the run; assert it and every child it had exit in time; their pids."""
        children = _children(self.process.pid)
        self.process.send_signal(signal.SIGINT)
        assert self.process.wait(timeout) == 0, self.output()
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in children if _alive(pid)], self.output()
        return children


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    ports = {name: devserver.free_port() for name in ("api", "temporal", "ui")}
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RULEBANK_")}
    return clean | {
        # The code under test, whatever the virtualenv's installed copy maps.
        "PYTHONPATH": str(REPO),
        "RULEBANK_API__PORT": str(ports["api"]),
        "RULEBANK_TEMPORAL_ADDRESS": f"127.0.0.1:{ports['temporal']}",
        "RULEBANK_TEMPORAL__UI_PORT": str(ports["ui"]),
    }


async def _schedules(address: str) -> list[str]:
    client = await connect(TemporalSettings(address=address))
    found = []
    for sid in SCHEDULED:
        description = await client.get_schedule_handle(sid).describe()
        found.append(description.id)
    return found


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_run_starts_everything_stops_cleanly_and_resumes(tmp_path: Path, env) -> None:
    api = f"http://127.0.0.1:{env['RULEBANK_API__PORT']}"
    first = Run(tmp_path, env, 1)
    try:
        first.wait_ready()
        assert httpx.get(f"{api}/healthz").status_code == 200
        assert httpx.get(f"{api}/docs").status_code == 200
        assert f"{api}/docs" in first.output()
        assert f"http://127.0.0.1:{env['RULEBANK_TEMPORAL__UI_PORT']}" in first.output()
        assert asyncio.run(_schedules(env["RULEBANK_TEMPORAL_ADDRESS"])) == SCHEDULED
        keys = json.loads((tmp_path / ".rulebank" / "demo-keys.json").read_text())
        headers = {"Authorization": f"Bearer {keys['mo.li']}"}
        campaign = f"{api}/v1/campaigns/rural_bank.spring_planting_loan"
        started = httpx.post(f"{campaign}/start", headers=headers, timeout=10)
        assert started.status_code == 202, started.text
    finally:
        children = first.interrupt()
    assert len(children) == 3  # Temporal, API, worker
    output = first.output()
    assert all(f"stopped {name}" in output for name in ("api", "worker", "temporal"))

    db = tmp_path / ".rulebank" / "rulebank.db"
    counts = {table: _count(db, table) for table in ("app_user", "ruleset_version", "customer")}
    second = Run(tmp_path, env, 2)
    try:
        second.wait_ready()
        output = second.output()
        assert f"schedules: {len(SCHEDULED)} unchanged" in output
        assert "activated" not in output and "seeded" not in output and "created" not in output
        assert {table: _count(db, table) for table in counts} == counts
        assert asyncio.run(_schedules(env["RULEBANK_TEMPORAL_ADDRESS"])) == SCHEDULED
        detail = httpx.get(campaign, headers=headers, timeout=10).json()
        runs = [run["workflow_id"] for run in detail["recent_runs"]]
        assert started.json()["workflow_id"] in runs  # Temporal kept its state on disk
    finally:
        second.interrupt()
