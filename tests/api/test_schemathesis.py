"""Property-based API tests: schemathesis generates requests from the app's own OpenAPI schema.

For every operation and every generated request, sent with a valid key of each role (so both
the role gate and the code behind it are exercised), the app must never answer 5xx and every
documented response must match its schema. A draft, a version under review and an active one
exist beforehand, so lookups by name can find something. SQLite only, bounded to ~25 examples
per operation to keep the run well under 90 s.
"""

from __future__ import annotations

import shutil
import tempfile

import pytest
import schemathesis
from api_samples import DEMO_V2, ONE_PER_ROLE, REPO, release
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.app import create_app
from config.settings import Settings
from store import migrate

CHECKS = [not_a_server_error, response_schema_conformance]


def _schema_source():
    """The OpenAPI schema, read once at collection from an app on a throwaway database.

    (schemathesis' lazy `from_fixture` loader does not run under pytest 9, so the schema is
    loaded eagerly; each test still runs against the seeded `app` fixture.)
    """
    folder = tempfile.mkdtemp(prefix="rulebank-schema-")
    url = f"sqlite:///{folder}/schema.db"
    migrate.upgrade(url)
    try:
        return schemathesis.openapi.from_asgi(
            "/openapi.json",
            create_app(Settings(database={"url": url}, templates_dir=REPO / "templates")),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


schema = _schema_source()
# Negative cases too (wrong types, out-of-range values, NUL characters): they must be 4xx.
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only: overrides the two-backend parametrisation for this module."""
    return sqlite_url


@pytest.fixture
def seeded(app, auth):
    """The app with a draft, a version under review and an active one."""
    with TestClient(app) as client:
        release(client, auth)
        release(client, auth, DEMO_V2, until="in_review")
        release(client, auth, until="draft")
    return app


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_no_server_errors_and_conforming_responses(case, seeded, auth):
    for user in [*ONE_PER_ROLE.values(), None]:
        headers = auth(user) if user else {}
        case.call_and_validate(app=seeded, headers=headers, checks=CHECKS)
