"""The audit routes: filters, keyset pages, JSON-lines export, and tamper detection."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from api_samples import release

from store.audit import AuditEntry


def _entries(client, auth, **params):
    response = client.get("/v1/audit", params=params, headers=auth("cora"))
    assert response.status_code == 200, response.text
    return response.json()


def test_filters_and_keyset_pages(client, auth):
    release(client, auth)
    everything = _entries(client, auth)["items"]
    assert [e["seq"] for e in everything] == list(range(1, len(everything) + 1))
    assert {e["action"] for e in _entries(client, auth, actor="ada")["items"]} == {
        "version.activated"
    }
    assert len(_entries(client, auth, action="user.created")["items"]) == 7
    assert _entries(client, auth, ruleset="other")["items"] == []
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert _entries(client, auth, since=later)["items"] == []
    assert len(_entries(client, auth, until=later)["items"]) == len(everything)

    seen, after = [], 0
    while after is not None:
        page = _entries(client, auth, limit=3, after=after)
        seen += [e["seq"] for e in page["items"]]
        after = page["next"]
    assert seen == [e["seq"] for e in everything]


def test_export_streams_json_lines(client, auth):
    release(client, auth)
    response = client.get("/v1/audit/export", params={"ruleset": "demo"}, headers=auth("cora"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines[0]["action"] == "version.created"
    assert all(line["ruleset"] == "demo" and len(line["hash"]) == 64 for line in lines)


def test_tampering_is_reported_at_exactly_that_seq(app, client, auth, database_url):
    release(client, auth)
    tamper = sa.update(AuditEntry).where(AuditEntry.seq == 9).values(actor="mallory")
    if database_url.startswith("postgresql"):
        # PostgreSQL refuses the edit outright (a trigger); the chain stays intact.
        with pytest.raises(sa.exc.DBAPIError), app.state.engine.begin() as connection:
            connection.execute(tamper)
        assert client.get("/v1/audit/verify", headers=auth("cora")).json()["ok"]
        return
    with app.state.engine.begin() as connection:
        connection.execute(tamper)
    verified = client.get("/v1/audit/verify", headers=auth("cora")).json()
    assert verified["ok"] is False and verified["first_broken_seq"] == 9
    assert verified["checked"] == 8 and "9" in verified["reason"]


def test_verify_returns_its_head_and_checks_an_anchor(client, auth):
    release(client, auth)
    head = client.get("/v1/audit/verify", headers=auth("cora")).json()
    assert head["ok"] and head["head_seq"] == head["checked"] > 0
    anchored = client.get(
        "/v1/audit/verify",
        params={"anchor_seq": head["head_seq"], "anchor_hash": head["head_hash"]},
        headers=auth("cora"),
    ).json()
    assert anchored["ok"]
    ahead = client.get(
        "/v1/audit/verify",
        params={"anchor_seq": head["head_seq"] + 5, "anchor_hash": head["head_hash"]},
        headers=auth("cora"),
    ).json()
    assert ahead["ok"] is False and "anchored" in ahead["reason"]
    alone = client.get("/v1/audit/verify", params={"anchor_seq": 1}, headers=auth("cora"))
    assert alone.status_code == 422 and "go together" in alone.text
