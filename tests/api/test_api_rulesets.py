"""The ruleset lifecycle through the API: draft -> review -> approval -> activation -> rollback,
with the maker-checker rule, the 4xx answers, and an audit entry for every transition."""

from __future__ import annotations

import pytest
from api_samples import BASE, BROKEN, DEMO_V1, DEMO_V2, release

from services import registry
from services.actor import Actor
from services.errors import ForbiddenError
from store.session import session_scope
from store.user import Role


def test_lifecycle_activation_retirement_and_rollback(client, auth):
    one = release(client, auth)
    first = client.get(f"{BASE}/1", headers=auth("cora")).json()
    assert (first["status"], first["author"], first["approver"]) == ("active", "mia", "cora")
    assert first["source"] == DEMO_V1 and first["plan"]["hash"] == first["plan_hash"]
    assert first["submitted_at"] and first["decided_at"] and first["activated_at"]

    two = release(client, auth, DEMO_V2, author="mo", approver="carl")
    statuses = {
        v["version"]: v["status"] for v in client.get(BASE, headers=auth("mia")).json()["items"]
    }
    assert statuses == {one: "retired", two: "active"}

    rolled_back = client.post(f"{BASE}/{one}/activate", headers=auth("ada"))
    assert rolled_back.status_code == 200 and rolled_back.json()["status"] == "active"
    listed = client.get("/v1/rulesets", headers=auth("ada")).json()["items"]
    assert listed == [
        {
            "name": "demo",
            "created_at": listed[0]["created_at"],
            "versions": 2,
            "latest_version": 2,
            "active_version": 1,
        }
    ]


def test_every_transition_is_audited_and_the_chain_verifies(client, auth):
    release(client, auth)
    entries = client.get("/v1/audit", params={"ruleset": "demo"}, headers=auth("cora"))
    actions = [(e["action"], e["actor"], e["subject_id"]) for e in entries.json()["items"]]
    assert actions == [
        ("version.created", "mia", "demo/1"),
        ("version.submitted", "mia", "demo/1"),
        ("version.approved", "cora", "demo/1"),
        ("version.activated", "ada", "demo/1"),
    ]
    verified = client.get("/v1/audit/verify", headers=auth("cora")).json()
    assert verified["ok"] and verified["first_broken_seq"] is None


def test_reject_needs_a_comment_and_records_it(client, auth):
    number = release(client, auth, until="in_review")
    url = f"{BASE}/{number}/reject"
    assert client.post(url, json={}, headers=auth("cora")).status_code == 422
    rejected = client.post(url, json={"comment": "too broad"}, headers=auth("cora")).json()
    assert (rejected["status"], rejected["review_comment"]) == ("rejected", "too broad")
    assert client.post(f"{BASE}/{number}/activate", headers=auth("ada")).status_code == 409


def test_maker_checker_refuses_the_author_even_with_compliance_role(app, client, auth):
    number = release(client, auth, until="in_review")
    with session_scope(app.state.session_factory) as session, pytest.raises(ForbiddenError):
        registry.decide(
            session, Actor("mia", Role.COMPLIANCE), "demo", number, approve=True, comment=None
        )
    # Through the API, the author's own role cannot approve at all.
    refused = client.post(f"{BASE}/{number}/approve", json={}, headers=auth("mia"))
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert client.get(f"{BASE}/{number}", headers=auth("mia")).json()["status"] == "in_review"


def test_only_the_author_submits(client, auth):
    number = release(client, auth, until="draft")
    assert client.post(f"{BASE}/{number}/submit", headers=auth("mo")).status_code == 403


def test_bad_source_is_422_with_diagnostics(client, auth):
    response = client.post(BASE, json={"source": BROKEN}, headers=auth("mia"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 422 and body["title"] and body["type"].startswith("urn:rulebank:")
    assert body["diagnostics"][0]["code"] == "E103"
    assert body["diagnostics"][0]["line"] == 2


def test_validate_returns_diagnostics_without_storing(client, auth):
    good = client.post("/v1/rulesets/validate", json={"source": DEMO_V1}, headers=auth("mia"))
    assert good.status_code == 200 and good.json()["ok"] and good.json()["plan_hash"]
    bad = client.post("/v1/rulesets/validate", json={"source": BROKEN}, headers=auth("cora"))
    assert bad.status_code == 200 and not bad.json()["ok"]
    assert bad.json()["diagnostics"][0]["code"] == "E103"
    assert client.get("/v1/rulesets", headers=auth("mia")).json()["items"] == []


def test_name_in_path_must_match_the_file(client, auth):
    response = client.post(
        "/v1/rulesets/other/versions", json={"source": DEMO_V1}, headers=auth("mia")
    )
    assert response.status_code == 422 and "declares ruleset 'demo'" in response.json()["detail"]


@pytest.mark.parametrize("field", ["status", "author", "approver", "plan_hash", "version"])
def test_unknown_fields_are_refused(client, auth, field):
    body = {"source": DEMO_V1, field: "active"}
    response = client.post(BASE, json=body, headers=auth("mia"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", field]
    extra = client.post(
        f"{BASE}/1/approve", json={"comment": "ok", field: "x"}, headers=auth("cora")
    )
    assert extra.status_code == 422


@pytest.mark.parametrize(("method", "path"), [
    ("get", f"{BASE}/1"), ("get", "/v1/rulesets/nope/versions"),
    ("post", f"{BASE}/7/submit"), ("post", f"{BASE}/7/activate"),
])  # fmt: skip
def test_missing_things_are_404(client, auth, method, path):
    response = getattr(client, method)(path, headers=auth("ada"))
    assert response.status_code == 404 and response.json()["status"] == 404


def test_wrong_state_is_409(client, auth):
    number = release(client, auth, until="draft")
    assert client.post(f"{BASE}/{number}/activate", headers=auth("ada")).status_code == 409
    assert client.post(f"{BASE}/{number}/approve", json={}, headers=auth("cora")).status_code == 409
    client.post(f"{BASE}/{number}/submit", headers=auth("mia"))
    again = client.post(f"{BASE}/{number}/submit", headers=auth("mia"))
    assert again.status_code == 409 and "in_review" in again.json()["detail"]


def test_diff_between_versions(client, auth):
    release(client, auth, until="draft")
    release(client, auth, DEMO_V2, until="draft")
    response = client.get(f"{BASE}/2/diff", params={"against": 1}, headers=auth("cora"))
    assert response.status_code == 200
    assert response.json()["plan_hash"]["before"] != response.json()["plan_hash"]["after"]
    assert (
        client.get(f"{BASE}/2/diff", params={"against": 9}, headers=auth("cora")).status_code == 404
    )


def test_pages_are_capped(client, auth):
    for source in (DEMO_V1, DEMO_V2, DEMO_V1):
        release(client, auth, source, until="draft")
    first = client.get(BASE, params={"limit": 2}, headers=auth("mia")).json()
    assert [v["version"] for v in first["items"]] == [1, 2] and first["next"] == 2
    rest = client.get(BASE, params={"limit": 2, "offset": 2}, headers=auth("mia")).json()
    assert [v["version"] for v in rest["items"]] == [3] and rest["next"] is None
    too_many = client.get(BASE, params={"limit": 501}, headers=auth("mia"))
    assert too_many.status_code == 422 and "at most 500" in too_many.json()["detail"]
