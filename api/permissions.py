"""The authorisation matrix: which roles may do what, as data in this one place.

Every route except the health probes and the API docs carries `allow(permission)` (or, in
routers written elsewhere, `require_roles(...)`); `tests/api/test_authorization.py` walks the
app's routes and fails for any route without a rule. Services enforce the finer rules on top
(only the author submits, never approve your own version); this table is the coarse gate.
"""

from __future__ import annotations

from fastapi import Depends
from fastapi.params import Depends as DependsParam

from api.deps import require_roles
from store.user import Role

MARKETING_OPS, COMPLIANCE, ADMIN = Role.MARKETING_OPS, Role.COMPLIANCE, Role.ADMIN

PERMISSIONS: dict[str, frozenset[Role]] = {
    # Reading rule text and plans: the people who write, review and release them.
    "rulesets.read": frozenset({MARKETING_OPS, COMPLIANCE, ADMIN}),
    "rulesets.validate": frozenset({MARKETING_OPS, COMPLIANCE, ADMIN}),
    "rulesets.diff": frozenset({MARKETING_OPS, COMPLIANCE, ADMIN}),
    # Makers: drafts and submission (the service also requires the submitter to be the author).
    "rulesets.write": frozenset({MARKETING_OPS, ADMIN}),
    "rulesets.submit": frozenset({MARKETING_OPS, ADMIN}),
    # Checkers: compliance alone approves or rejects (never their own version: the service).
    "rulesets.review": frozenset({COMPLIANCE}),
    # Release and rollback are an administrator's act, separate from writing and reviewing.
    "rulesets.activate": frozenset({ADMIN}),
    # The audit log is compliance's record; no one who changes rules reads or exports it here.
    "audit.read": frozenset({COMPLIANCE}),
}


def allow(permission: str) -> DependsParam:
    """The dependency that admits the roles `PERMISSIONS[permission]` names (403 otherwise)."""
    guard = require_roles(*PERMISSIONS[permission])
    guard.permission = permission  # type: ignore[attr-defined]  # shown by the authz tests
    return Depends(guard)
