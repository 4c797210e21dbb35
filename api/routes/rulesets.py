"""Ruleset routes: validate rule text, write drafts, and move versions through review.

Each route is a thin shell over `services.registry`, which owns the lifecycle and the
maker-checker rules; the route adds the role gate (`api.permissions`) and the JSON shape.
Activation is database work; the campaign schedules follow in Temporal after it committed.
Version numbers are bounded to what the database column holds and ruleset names to what the
rule language accepts, so no path can reach the database with a value it would refuse.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request, Response, status

from api.deps import SessionDep
from api.params import MAX_INT32, Limit, Offset, offset_page
from api.permissions import allow
from api.problems import problem, responses
from api.routes.campaigns import reconcile_after_activation
from api.schemas import (
    Page,
    ReviewDecision,
    RulesetSummary,
    ValidateRequest,
    ValidateResult,
    Version,
    VersionCreate,
    VersionDetail,
)
from services import registry
from services.actor import Actor
from store.registry import RulesetVersion

try:  # written separately; until it exists the diff route answers 501
    from services.diff import diff_versions
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the checkout
    if exc.name != "services.diff":  # the module exists but is broken: say so loudly
        raise
    diff_versions = None

router = APIRouter(tags=["rulesets"], responses=responses(404, 409))
Name = Annotated[str, Path(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,99}$", description="Ruleset.")]
Number = Annotated[int, Path(ge=1, le=MAX_INT32, description="Version number.")]
Reader = Annotated[Actor, allow("rulesets.read")]


def _out(name: str, version: RulesetVersion, model: type[Version] = Version) -> Any:
    fields = {f: getattr(version, f) for f in model.model_fields if f != "name"}
    return model.model_validate({**fields, "name": name})


@router.post("/validate", response_model=ValidateResult)
def validate(
    body: ValidateRequest, request: Request, _: Annotated[Actor, allow("rulesets.validate")]
) -> Any:
    """Compile rule text without storing it; returns the diagnostics."""
    return registry.validate(body.source, body.name, request.app.state.catalog)


@router.get("", response_model=Page[RulesetSummary])
def list_rulesets(session: SessionDep, _: Reader, limit: Limit, offset: Offset = 0) -> Any:
    """Rulesets by name with their latest and active version numbers."""
    items = registry.list_rulesets(session, limit=limit, offset=offset)
    return offset_page(items, offset, limit)


@router.post("/{name}/versions", response_model=Version, status_code=status.HTTP_201_CREATED)
def create_version(
    name: Name,
    body: VersionCreate,
    session: SessionDep,
    request: Request,
    response: Response,
    actor: Annotated[Actor, allow("rulesets.write")],
) -> Any:
    """Store rule text as the next draft; 422 with `diagnostics` if it does not compile."""
    version = registry.create_version(session, actor, name, body.source, request.app.state.catalog)
    response.headers["Location"] = f"{request.url.path}/{version.version}"
    return _out(name, version)


@router.get("/{name}/versions", response_model=Page[Version])
def list_versions(
    name: Name, session: SessionDep, _: Reader, limit: Limit, offset: Offset = 0
) -> Any:
    """The versions of a ruleset, oldest first."""
    versions = registry.list_versions(session, name, limit=limit, offset=offset)
    return offset_page([_out(name, v) for v in versions], offset, limit)


@router.get("/{name}/versions/{n}", response_model=VersionDetail)
def get_version(name: Name, n: Number, session: SessionDep, _: Reader) -> Any:
    """One version with its rule text and compiled plan."""
    return _out(name, registry.get_version(session, name, n), VersionDetail)


@router.get("/{name}/versions/{n}/diff", responses=responses(501))
def diff(
    name: Name,
    n: Number,
    session: SessionDep,
    _: Annotated[Actor, allow("rulesets.diff")],
    against: Annotated[int, Query(ge=1, le=MAX_INT32)],
) -> Any:
    """What changed between version `against` and version `n` (text and plan)."""
    if diff_versions is None:
        return problem(501, "version diffs are not available in this build")
    return diff_versions(session, name, n, against)


@router.post("/{name}/versions/{n}/submit", response_model=Version)
def submit(
    name: Name, n: Number, session: SessionDep, actor: Annotated[Actor, allow("rulesets.submit")]
) -> Any:
    """The author sends a draft for compliance review; it is immutable from now on."""
    return _out(name, registry.submit(session, actor, name, n))


def _review(decision: str, approve: bool, doc: str) -> None:
    """Register `POST /{name}/versions/{n}/<decision>`: compliance's verdict on a version."""

    def route(
        name: Name,
        n: Number,
        body: ReviewDecision,
        session: SessionDep,
        actor: Annotated[Actor, allow("rulesets.review")],
    ) -> Any:
        version = registry.decide(session, actor, name, n, approve=approve, comment=body.comment)
        return _out(name, version)

    route.__name__, route.__doc__ = decision, doc
    router.post(f"/{{name}}/versions/{{n}}/{decision}", response_model=Version)(route)


_review("approve", True, "Compliance approves a version under review (never one they wrote).")
_review("reject", False, "Compliance rejects a version under review; the comment is required.")


@router.post("/{name}/versions/{n}/activate", response_model=Version)
def activate(
    name: Name,
    n: Number,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
    actor: Annotated[Actor, allow("rulesets.activate")],
) -> Any:
    """Make an approved version the active one; activating an earlier one is a rollback."""
    version = _out(name, registry.activate(session, actor, name, n))
    # Temporal follows the database: background tasks run after the transaction committed.
    background.add_task(reconcile_after_activation, request.app, name)
    return version
