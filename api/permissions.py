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
SERVICE_DESK = Role.SERVICE_DESK

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
    # Campaigns of active versions: marketing ops run them, compliance watches, admin both.
    "campaigns.read": frozenset({MARKETING_OPS, COMPLIANCE, ADMIN}),
    "campaigns.control": frozenset({MARKETING_OPS, ADMIN}),
    # Delivery: template previews for the people who write and review messages; the outbox
    # (ids and statuses, no content) for those who run and review campaigns.
    "templates.preview": frozenset({MARKETING_OPS, COMPLIANCE, ADMIN}),
    "messages.read": frozenset({MARKETING_OPS, COMPLIANCE, ADMIN}),
    # "Why did this customer get, or not get, this message": also the desk answering them.
    "contacts.read": frozenset({MARKETING_OPS, COMPLIANCE, SERVICE_DESK, ADMIN}),
    # Replies relayed by the SMS gateway integration, which holds an admin key.
    "inbound.receive": frozenset({ADMIN}),
    # Tasks: each user works only the tasks assigned to them by name (RMs and branch managers
    # hold the sales role; the desk gets notices); the routes filter by the caller's name.
    "tasks.work": frozenset({Role.SALES, SERVICE_DESK}),
    # Service desk tickets: the desk opens and works them (admin too); compliance reads them
    # (complaints are regulated). Calendars: everyone reads, operations (admin) edit.
    "tickets.read": frozenset({SERVICE_DESK, COMPLIANCE, ADMIN}),
    "tickets.create": frozenset({SERVICE_DESK, ADMIN}),
    "tickets.act": frozenset({SERVICE_DESK, ADMIN}),
    "calendars.read": frozenset({MARKETING_OPS, COMPLIANCE, SERVICE_DESK, Role.SALES, ADMIN}),
    "calendars.write": frozenset({ADMIN}),
    # Leads: RMs read and work their own leads and their team's pool (the lead services scope
    # every query to that, and check ownership on every action); compliance reads all; intake
    # integrations and administrators create leads and may close or release any.
    "leads.read": frozenset({Role.SALES, COMPLIANCE, ADMIN}),
    "leads.create": frozenset({Role.SALES, ADMIN}),
    "leads.work": frozenset({Role.SALES, ADMIN}),
}


def allow(permission: str) -> DependsParam:
    """The dependency that admits the roles `PERMISSIONS[permission]` names (403 otherwise)."""
    guard = require_roles(*PERMISSIONS[permission])
    guard.permission = permission  # type: ignore[attr-defined]  # shown by the authz tests
    return Depends(guard)
