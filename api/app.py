"""The API's composition root: `create_app(settings)` wires storage, services and routers.

It refuses to build an app on a database that is not at the current schema revision (raising
`SchemaOutOfDateError`, whose message says what to run), so a misdeployed server fails at
start-up instead of on its first request. The engine, session factory, settings, template
catalog and Temporal client (`app.state.temporal`, connected on first use) live on `app.state`
for the routes and `api.deps`; the engine is disposed at shutdown. Routers written by other
teams are included only when their module imports, so parts of the API can land independently.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from api import problems
from api.limits import BodySizeLimit
from api.routes import audit, campaigns, health, rulesets
from config.settings import Settings
from dsl.templates_catalog import TemplateCatalog
from runtime.temporal_client import LazyClient
from store.migrate import ensure_up_to_date
from store.session import make_engine, make_session_factory

log = logging.getLogger(__name__)
OPTIONAL_ROUTERS = {
    "customers": "api.routes.customers",
    "events": "api.routes.events",
    "templates": "api.routes.templates",
    "messages": "api.routes.messages",
    "contacts": "api.routes.contacts",
    "inbound": "api.routes.inbound",
    "tasks": "api.routes.tasks",
    "tickets": "api.routes.tickets",
    "calendars": "api.routes.calendars",
    "leads": "api.routes.leads",
}


def _catalog(settings: Settings) -> TemplateCatalog | None:
    # Built once: scanning and parsing every template per request would cost a disk walk.
    folder = settings.templates_dir
    if not folder.is_dir():
        log.warning("no templates folder at %s: rule files compile without template checks", folder)
        return None
    return TemplateCatalog.from_directory(folder)


def _optional_router(module: str) -> APIRouter | None:
    try:
        return importlib.import_module(module).router
    except ModuleNotFoundError as exc:
        if exc.name != module:  # the module exists but something it imports is missing
            raise
        return None


def create_app(settings: Settings) -> FastAPI:
    """The control API for `settings`; raises SchemaOutOfDateError on an unmigrated database."""
    ensure_up_to_date(settings.database.url)
    engine = make_engine(settings.database.url, echo=settings.database.echo)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="rulebank control API",
        summary="Versioned rule sets with maker-checker review, and their audit log.",
        version="1",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.catalog = _catalog(settings)
    # Connected on first use: the API serves rulesets and audit while Temporal is down.
    app.state.temporal = LazyClient(settings.temporal)
    problems.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.api.max_body_bytes)

    app.include_router(health.router)
    # Every router but the probes is authenticated: document the problems that implies.
    guarded = problems.RESPONSES
    app.include_router(rulesets.router, prefix="/v1/rulesets", responses=guarded)
    app.include_router(audit.router, prefix="/v1/audit", responses=guarded)
    app.include_router(campaigns.router, prefix="/v1/campaigns", responses=guarded)
    for resource, module in OPTIONAL_ROUTERS.items():
        router = _optional_router(module)
        if router is not None:
            app.include_router(router, prefix=_prefix(router, resource), responses=guarded)
    return app


def _prefix(router: APIRouter, resource: str) -> str:
    # Routers follow the template's convention (paths relative to /v1/<resource>), but a
    # router that already spells out its full or /v1-relative paths is mounted as written.
    paths = [getattr(route, "path", "") for route in router.routes] or [""]
    if router.prefix or all(p.startswith("/v1/") for p in paths):
        return ""
    if all(p.startswith(f"/{resource}") for p in paths):
        return "/v1"
    return f"/v1/{resource}"
