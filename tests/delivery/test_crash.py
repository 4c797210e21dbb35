"""A sender killed with SIGKILL in the middle of a page, then retried: every customer gets the
message exactly once. The gateway runs in its own process (`python -m delivery.testing
gateway`) so it outlives the sender, records to a file, and dedupes by idempotency key."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from delivery_samples import MARKETING, NOON, REPO, RULE, SMS, TOKEN

from config.settings import Settings
from delivery.deliverer import Deliverer
from store.outbox import Message

RUN = "campaign:retail:promo:crash"
SENDER = """
import sys
from config.settings import Settings
from delivery.deliverer import Deliverer
from store.session import make_engine, make_session_factory
sys.path.insert(0, "tests/delivery")
from delivery_samples import MARKETING, NOON, RULE, SMS
url, gateway, token, ids = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
settings = Settings(templates_dir="templates", delivery={"sms_gateway_url": gateway,
    "gateway_token": token, "gateway_batch_size": 10, "gateway_concurrency": 1})
deliverer = Deliverer.from_settings(settings, make_session_factory(make_engine(url)))
deliverer.send(rule=RULE, root_run_id=sys.argv[5], step=SMS, customer_ids=ids,
               policy=MARKETING, caps=[], now=NOON)
"""


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_sender_killed_mid_page_never_sends_twice(db_url, session_factory, add_customers,
                                                    tmp_path):  # fmt: skip
    ids = add_customers(60)
    record = tmp_path / "gateway.jsonl"
    gateway = subprocess.Popen(
        [sys.executable, "-m", "delivery.testing", "gateway", "--port", "0", "--token", TOKEN,
         "--record", str(record), "--delay", "0.25"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = gateway.stdout.readline().split()[-1]
        sender = subprocess.Popen(
            [sys.executable, "-c", SENDER, db_url, url, TOKEN, ",".join(ids), RUN], cwd=REPO
        )
        _wait_for(lambda: len(_lines(record)) >= 10, 30, "the first batch to arrive")
        os.kill(sender.pid, signal.SIGKILL)
        sender.wait(10)
        before = len(_lines(record))
        assert 10 <= before < 60, "the kill must land mid-page"
        with session_factory() as session:
            pending = session.scalar(sa.select(sa.func.count()).where(Message.status == "pending"))
        assert pending == 60  # all recorded before the first send; none marked sent yet

        settings = Settings(templates_dir=REPO / "templates",
                            delivery={"sms_gateway_url": url, "gateway_token": TOKEN})  # fmt: skip
        deliverer = Deliverer.from_settings(settings, session_factory)
        report = deliverer.send(rule=RULE, root_run_id=RUN, step=SMS, customer_ids=ids,
                                policy=MARKETING, caps=[], now=NOON)  # fmt: skip
        deliverer.channels.close()
        assert report.sent == 60
        received = _lines(record)
        assert sorted(m["id"] for m in received) == sorted(f"{RUN}|a1|{c}" for c in ids)
        with session_factory() as session:
            assert set(session.scalars(sa.select(Message.status))) == {"sent"}
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(10)
    assert gateway.returncode == 0
