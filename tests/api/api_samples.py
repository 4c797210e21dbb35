"""Sample users and rule files shared by the API tests (a module, not a conftest, so tests
can import it by its unique name)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from store.user import Role

REPO = Path(__file__).resolve().parents[2]

# Two users per reviewing role, so maker-checker has a second person to turn to.
USERS = {
    "mia": Role.MARKETING_OPS, "mo": Role.MARKETING_OPS,
    "cora": Role.COMPLIANCE, "carl": Role.COMPLIANCE,
    "ada": Role.ADMIN, "sam": Role.SERVICE_DESK, "sal": Role.SALES,
}  # fmt: skip
ONE_PER_ROLE = {
    Role.MARKETING_OPS: "mia",
    Role.COMPLIANCE: "cora",
    Role.ADMIN: "ada",
    Role.SERVICE_DESK: "sam",
    Role.SALES: "sal",
}

DEMO_V1 = """ruleset demo
  title "Demo"
  timezone "Asia/Shanghai"

segment rich
  where customer.total_assets >= 50_000
"""
DEMO_V2 = DEMO_V1.replace("50_000", "100_000")
BROKEN = "ruleset demo\n  segment x\n"

BASE = "/v1/rulesets/demo/versions"


def release(
    client,
    auth,
    source: str = DEMO_V1,
    *,
    author: str = "mia",
    approver: str = "cora",
    until: str = "active",
    ruleset: str = "demo",
) -> int:
    """Take a new version of `ruleset` through the lifecycle up to `until`; its number."""
    base = f"/v1/rulesets/{ruleset}/versions"
    steps = [
        ("submit", author, None),
        ("approve", approver, {"comment": "ok"}),
        ("activate", "ada", None),
    ]
    created = client.post(base, json={"source": source}, headers=auth(author))
    assert created.status_code == 201, created.text
    number = created.json()["version"]
    for step, who, body in steps:
        if created.json()["status"] == until:
            break
        created = client.post(f"{base}/{number}/{step}", json=body, headers=auth(who))
        assert created.status_code == 200, created.text
    assert created.json()["status"] == until
    return number


def poll(
    fetch: Callable[[], dict],
    until: Callable[[dict], bool],
    timeout: float = 30,
    interval: float = 0.1,
) -> dict:
    """`fetch()` until `until(result)` holds; fails with the last result at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if until(result):
            return result
        assert time.monotonic() < deadline, result
        time.sleep(interval)
