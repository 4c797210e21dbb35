"""The API's edges: start-up refusal, probes, body cap, and problem+json for every error."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from api_samples import BASE, DEMO_V1
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import SessionDep
from config.settings import Settings
from store.migrate import SchemaOutOfDateError
from store.user import Role, User

PROBLEM = "application/problem+json"


def test_refuses_to_start_on_an_unmigrated_database(tmp_path):
    settings = Settings(database={"url": f"sqlite:///{tmp_path / 'empty.db'}"})
    with pytest.raises(SchemaOutOfDateError, match="never migrated"):
        create_app(settings)


def test_probes_need_no_key(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_readyz_is_503_when_the_database_is_behind(app, client):
    with app.state.engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'old'"))
    response = client.get("/readyz")
    assert response.status_code == 503 and response.headers["content-type"] == PROBLEM


def test_body_over_the_cap_is_413(settings, keys, auth):
    small = settings.model_copy(
        update={"api": settings.api.model_copy(update={"max_body_bytes": 300})}
    )
    with TestClient(create_app(small)) as client:
        big = {"source": DEMO_V1 + "#" * 400}
        declared = client.post(BASE, json=big, headers=auth("mia"))
        assert declared.status_code == 413 and declared.headers["content-type"] == PROBLEM
        assert "300 bytes" in declared.json()["detail"]
        chunks = iter([b'{"source": "', b"#" * 200, b"#" * 200, b'"}'])
        streamed = client.post(BASE, content=chunks, headers=auth("mia"))
        assert streamed.status_code == 413
        fits = client.post("/v1/rulesets/validate", json={"source": DEMO_V1}, headers=auth("mia"))
        assert fits.status_code == 200


def test_default_cap_is_the_settings_value(client, auth):
    response = client.post(BASE, content=b"x" * 1_000_001, headers=auth("mia"))
    assert response.status_code == 413


def test_malformed_json_and_nul_characters_are_422(client, auth):
    broken = client.post(
        BASE, content=b"{", headers={**auth("mia"), "content-type": "application/json"}
    )
    assert broken.status_code == 422 and broken.headers["content-type"] == PROBLEM
    nul = client.post(BASE, json={"source": "ruleset demo\x00"}, headers=auth("mia"))
    assert nul.status_code == 422 and nul.json()["errors"][0]["loc"] == ["body", "source"]


@pytest.mark.parametrize("since", ["2025-01-01T00:00:00", "0001-01-01T00:00:00+01:00", "soon"])
def test_audit_datetimes_need_a_zone_and_a_range(client, auth, since):
    response = client.get("/v1/audit", params={"since": since}, headers=auth("cora"))
    assert response.status_code == 422 and response.json()["errors"][0]["loc"][-1] == "since"


@pytest.mark.parametrize(
    "path", [f"{BASE}/0", f"{BASE}/2147483648", "/v1/rulesets/bad-name/versions"]
)
def test_out_of_range_path_values_are_422(client, auth, path):
    assert client.get(path, headers=auth("ada")).status_code == 422


def test_unexpected_errors_are_a_logged_500_problem(app, caplog):
    def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/boom", boom)
    with (
        TestClient(app, raise_server_exceptions=False) as client,
        caplog.at_level(logging.ERROR, logger="api.problems"),
    ):
        response = client.get("/boom")
    assert response.status_code == 500 and response.headers["content-type"] == PROBLEM
    assert "secret" not in response.text and response.json()["title"]
    assert any("unhandled error on GET /boom" in r.getMessage() for r in caplog.records)


def test_database_refusals_are_422_not_500(app):
    def refuse() -> None:
        raise sa.exc.DataError("INSERT ...", {}, Exception("value too long"))

    app.add_api_route("/refuse", refuse)
    with TestClient(app) as client:
        response = client.get("/refuse")
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM


def test_a_failing_commit_is_an_error_response_not_a_lost_write(app):
    # The insert is only flushed at commit, after the route returned: the client must still
    # learn it failed (the transaction ends before the response is sent).
    def duplicate(session: SessionDep) -> dict:
        session.add(User(name="mia", role=Role.ADMIN))
        return {"saved": True}

    app.add_api_route("/duplicate", duplicate, methods=["POST"])
    with TestClient(app) as client:
        response = client.post("/duplicate")
    assert response.status_code == 409 and response.headers["content-type"] == PROBLEM
