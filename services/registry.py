"""The ruleset registry's lifecycle: draft -> in_review -> approved | rejected -> active -> retired.

Rules enforced here, whatever the caller: a submitted version never changes (an edit is a new
version); only a compliance user who is not the author approves or rejects (maker-checker);
approval binds the plan hash, and activation re-checks that the stored plan still hashes to it;
at most one version of a ruleset is active; rollback is activating an earlier approved version.
Every transition appends an audit entry in the same transaction as the change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

import dsl
from dsl.diagnostics import as_json
from dsl.plan_ops import Plan
from dsl.result import CompileResult
from dsl.templates_catalog import TemplateCatalog
from services.actor import Actor
from services.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from store import audit
from store.registry import Ruleset, RulesetVersion, VersionStatus
from store.user import Role

S = VersionStatus
ACTIVATABLE = (S.APPROVED, S.RETIRED)  # retired versions were approved once: rollback targets


def _now() -> datetime:
    return datetime.now(UTC)


def _audit(
    session: Session, actor: Actor, action: str, version: RulesetVersion, name: str, **detail: Any
) -> None:
    audit.append(
        session,
        actor=actor.name,
        action=action,
        subject_type="ruleset_version",
        subject_id=f"{name}/{version.version}",
        ruleset=name,
        ruleset_version=version.version,
        detail=detail,
    )


def _compile(
    source: str, name: str, catalog: TemplateCatalog | None
) -> tuple[CompileResult | None, list[dict]]:
    """The compile result (None on errors) and every diagnostic as JSON, errors first."""
    filename = f"{name}.rules"
    try:
        result = dsl.compile_source(source, filename, catalog)
    except dsl.DslError as exc:
        return None, [as_json(d, filename) for d in (*exc.diagnostics, *exc.warnings)]
    return result, [as_json(d, filename) for d in result.warnings]


def validate(source: str, name: str = "<input>", catalog: TemplateCatalog | None = None) -> dict:
    """Compile without storing: {"ok", "plan_hash", "diagnostics"}."""
    result, diagnostics = _compile(source, name, catalog)
    plan_hash = result.plan_hash if result else None
    return {"ok": result is not None, "plan_hash": plan_hash, "diagnostics": diagnostics}


def get_ruleset(session: Session, name: str) -> Ruleset:
    ruleset = session.scalar(sa.select(Ruleset).where(Ruleset.name == name))
    if ruleset is None:
        raise NotFoundError(f"no ruleset named {name!r}")
    return ruleset


def get_version(session: Session, name: str, number: int, *, lock: bool = False) -> RulesetVersion:
    query = (
        sa.select(RulesetVersion)
        .join(Ruleset)
        .where(Ruleset.name == name, RulesetVersion.version == number)
    )
    if lock:
        query = query.with_for_update()
    version = session.scalar(query)
    if version is None:
        raise NotFoundError(f"ruleset {name!r} has no version {number}")
    return version


def list_versions(
    session: Session, name: str, *, limit: int | None = None, offset: int = 0
) -> list[RulesetVersion]:
    ruleset = get_ruleset(session, name)
    return list(
        session.scalars(
            sa.select(RulesetVersion)
            .where(RulesetVersion.ruleset_id == ruleset.id)
            .order_by(RulesetVersion.version)
            .limit(limit)
            .offset(offset)
        )
    )


def list_rulesets(
    session: Session, *, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    """Rulesets by name, each with its version count, latest and active version numbers."""
    v = RulesetVersion
    active = sa.func.max(sa.case((v.status == S.ACTIVE, v.version)))
    query = (
        sa.select(
            Ruleset.name,
            Ruleset.created_at,
            sa.func.count(v.id).label("versions"),
            sa.func.max(v.version).label("latest_version"),
            active.label("active_version"),
        )
        .outerjoin(v, v.ruleset_id == Ruleset.id)
        .group_by(Ruleset.id, Ruleset.name, Ruleset.created_at)
        .order_by(Ruleset.name)
        .limit(limit)
        .offset(offset)
    )
    return [dict(row._mapping) for row in session.execute(query)]


def create_version(
    session: Session, actor: Actor, name: str, source: str, catalog: TemplateCatalog | None = None
) -> RulesetVersion:
    """Compile `source` and store it as the next draft of ruleset `name`."""
    _require(actor, Role.MARKETING_OPS, Role.ADMIN, doing="write drafts")
    result, diagnostics = _compile(source, name, catalog)
    if result is None:
        errors = sum(d["severity"] == "error" for d in diagnostics)
        raise InvalidError(f"the rule file has {errors} error(s)", diagnostics=diagnostics)
    if result.plan.ruleset != name:
        raise InvalidError(
            f"the file declares ruleset {result.plan.ruleset!r}, but the path names {name!r}"
        )
    # Locked: two drafts written at once must not both take the same next version number.
    ruleset = session.scalar(sa.select(Ruleset).where(Ruleset.name == name).with_for_update())
    if ruleset is None:
        ruleset = Ruleset(name=name)
        session.add(ruleset)
        session.flush()
    latest = (
        session.scalar(
            sa.select(sa.func.max(RulesetVersion.version)).where(
                RulesetVersion.ruleset_id == ruleset.id
            )
        )
        or 0
    )
    version = RulesetVersion(
        ruleset_id=ruleset.id,
        version=latest + 1,
        status=S.DRAFT,
        source=source,
        plan=result.plan.model_dump(mode="json"),
        plan_hash=result.plan_hash,
        author=actor.name,
    )
    session.add(version)
    session.flush()
    _audit(
        session,
        actor,
        "version.created",
        version,
        name,
        plan_hash=result.plan_hash,
        warnings=[d.code for d in result.warnings],
    )
    return version


def submit(session: Session, actor: Actor, name: str, number: int) -> RulesetVersion:
    """The author sends a draft to compliance; from now on it never changes."""
    version = get_version(session, name, number, lock=True)
    if version.author != actor.name:
        raise ForbiddenError("only the author may submit a draft for review")
    _expect(version, S.DRAFT, "submitted")
    version.status, version.submitted_at = S.IN_REVIEW, _now()
    _audit(session, actor, "version.submitted", version, name, plan_hash=version.plan_hash)
    return version


def decide(
    session: Session, actor: Actor, name: str, number: int, *, approve: bool, comment: str | None
) -> RulesetVersion:
    """Compliance approves or rejects a version under review (never their own)."""
    _require(actor, Role.COMPLIANCE, doing="approve or reject versions")
    version = get_version(session, name, number, lock=True)
    if version.author == actor.name:
        # Maker-checker: the person who wrote a rule can never be the one who releases it.
        raise ForbiddenError("maker-checker: you cannot review a version you wrote")
    _expect(version, S.IN_REVIEW, "approved or rejected")
    if not approve and not (comment and comment.strip()):
        raise InvalidError("a rejection needs a comment for the author")
    version.status = S.APPROVED if approve else S.REJECTED
    version.approver, version.review_comment, version.decided_at = actor.name, comment, _now()
    action = "version.approved" if approve else "version.rejected"
    _audit(session, actor, action, version, name, plan_hash=version.plan_hash, comment=comment)
    return version


def activate(session: Session, actor: Actor, name: str, number: int) -> RulesetVersion:
    """Make an approved version the one that runs; the previous active one retires."""
    _require(actor, Role.ADMIN, doing="activate versions")
    version = get_version(session, name, number, lock=True)
    if version.status is S.ACTIVE:
        return version  # idempotent: activating the active version changes nothing
    if version.status not in ACTIVATABLE or version.approver is None:
        raise ConflictError(
            f"version {number} is {version.status.value}; only an approved version can be activated"
        )
    stored = Plan.model_validate(version.plan)
    if stored.compute_hash() != version.plan_hash or stored.hash != version.plan_hash:
        raise ConflictError(f"version {number}'s plan no longer matches the approved hash")
    previous = session.scalar(
        sa.select(RulesetVersion)
        .where(
            RulesetVersion.ruleset_id == version.ruleset_id,
            RulesetVersion.status == S.ACTIVE,
        )
        .with_for_update()
    )
    if previous is not None:
        previous.status = S.RETIRED
        session.flush()  # the partial unique index allows one active version at a time
    version.status, version.activated_at = S.ACTIVE, _now()
    rollback = previous is not None and previous.version > version.version
    _audit(
        session,
        actor,
        "version.activated",
        version,
        name,
        plan_hash=version.plan_hash,
        previous=previous.version if previous else None,
        rollback=rollback,
    )
    return version


def _require(actor: Actor, *roles: Role, doing: str) -> None:
    if not actor.has(*roles):
        raise ForbiddenError(f"role {actor.role.value} may not {doing}")


def _expect(version: RulesetVersion, status: VersionStatus, verb: str) -> None:
    if version.status is not status:
        raise ConflictError(
            f"version {version.version} is {version.status.value}; only a version that is "
            f"{status.value.replace('_', ' ')} can be {verb}"
        )
