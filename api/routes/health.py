"""Liveness and readiness probes: the only routes that need no API key.

`/healthz` answers as long as the process serves requests (an orchestrator restarts it when
it does not). `/readyz` also checks that the database answers and is at the schema revision
this code needs, so a load balancer sends no traffic to an instance that would fail it.
"""

from __future__ import annotations

import logging
from functools import cache

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.problems import problem, responses
from api.schemas import Health
from store.migrate import head_revision

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@cache
def _head() -> str:
    return head_revision()  # reads the migration scripts from disk: once per process


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Liveness: the process is up."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    responses=responses(503),
)
def readyz(request: Request) -> Health | JSONResponse:
    """Readiness: the database answers and its schema is current."""
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(sa.select(1))
            heads = MigrationContext.configure(connection).get_current_heads()
    except sa.exc.SQLAlchemyError as exc:
        log.warning("readiness check failed: %s", exc)
        return problem(503, "the database does not answer")
    if tuple(heads) != (_head(),):
        return problem(503, "the database schema is not at the revision this server needs")
    return Health(status="ready")
