"""Sample users and rule files shared by the API tests (a module, not a conftest, so tests
can import it by its unique name)."""

from __future__ import annotations

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
) -> int:
    """Take a new version of `demo` through the lifecycle up to `until`; its number."""
    steps = [
        ("submit", author, None),
        ("approve", approver, {"comment": "ok"}),
        ("activate", "ada", None),
    ]
    created = client.post(BASE, json={"source": source}, headers=auth(author))
    assert created.status_code == 201, created.text
    number = created.json()["version"]
    for step, who, body in steps:
        if created.json()["status"] == until:
            break
        created = client.post(f"{BASE}/{number}/{step}", json=body, headers=auth(who))
        assert created.status_code == 200, created.text
    assert created.json()["status"] == until
    return number
