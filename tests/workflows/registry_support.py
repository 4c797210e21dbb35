"""Rule sets stored the way a release leaves them, for tests that need an active plan.

The workflow tests and the service tests seed the registry directly instead of going through
submit, approve and activate: `add_active_version` writes the ruleset row and one active
version carrying the compiled plan and its hash, which is all the routers and services read.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

import dsl
from dsl.plan_ops import Plan
from store.registry import Ruleset, RulesetVersion, VersionStatus
from store.session import session_scope


def add_active_version(session: Session, plan: Plan, source: str, version: int = 1) -> None:
    """Store `plan` (compiled from `source`) as the active `version` of its new ruleset."""
    ruleset = Ruleset(name=plan.ruleset)
    session.add(ruleset)
    session.flush()
    session.add(
        RulesetVersion(
            ruleset_id=ruleset.id,
            version=version,
            status=VersionStatus.ACTIVE,
            source=source,
            plan=plan.model_dump(mode="json"),
            plan_hash=plan.hash,
            author="mia",
            approver="cora",
        )
    )


def activate(factory: sessionmaker[Session], source: str, filename: str) -> Plan:
    """Compile `source` and store it as the active version 1 of its ruleset."""
    plan = dsl.compile_source(source, filename).plan
    with session_scope(factory) as session:
        add_active_version(session, plan, source)
    return plan
