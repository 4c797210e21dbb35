"""Lead routes against a real Temporal dev server, a real lead worker and a SQLite database.

The shipped `corporate_leads` rules are released through the API. A created lead is assigned
by its workflow and its detail shows the live clock (owner, deadline, remaining ownership
time); an RM lists and works only their own leads and their team's pool, other RMs get 404;
contact restarts the cadence; a release puts the lead in the pool, where the previous owner's
claim inside the cooldown is a 409 naming when the cooldown ends while a colleague's claim
succeeds; convert closes it, and so does disqualify (lost with the owner's reason, or invalid
from the pool), which ends the follow-up and frees the owner's capacity; without Temporal a
create keeps the lead and answers 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from api_samples import REPO, poll, release
from fastapi.testclient import TestClient

from activities.leads import LeadActivities
from api.app import create_app
from config.settings import Settings
from runtime.contracts import LeadState
from runtime.temporal_client import connect
from services.leads_assign import open_counts
from services.leads_rm import put_rm
from services.users import create_user
from store.session import make_engine, make_session_factory, session_scope
from store.user import Role
from workflows.lead_followup import LeadFollowUpWorkflow

RULES = (REPO / "rulesets" / "corporate_leads.rules").read_text(encoding="utf-8")
BASE = "/v1/leads"
RMS = {"ann": "EAST", "ben": "EAST", "wes": "WEST"}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only: the service tests cover PostgreSQL; these are about the Temporal side."""
    return sqlite_url


@pytest.fixture
def settings(temporal_settings: Settings) -> Settings:
    """Temporal on: the dev server of tests/conftest.py, a task queue of this test's own."""
    return temporal_settings


@pytest.fixture
def rm_keys(api_db_url: str) -> dict[str, str]:
    """Sales users with team profiles in corporate-rm (ann and ben in EAST, wes in WEST)."""
    engine = make_engine(api_db_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            keys = {name: create_user(session, name, Role.SALES)[1] for name in RMS}
            for name, region in RMS.items():
                put_rm(session, name, team="corporate-rm", region=region, manager="max")
            return keys
    finally:
        engine.dispose()


@pytest.fixture
def desk(client: TestClient, auth, rm_keys, serve) -> Iterator[Callable]:
    """Released rules, a running worker, and `call(method, path, who, body)` -> response."""
    release(client, auth, RULES, ruleset="corporate_leads")

    def call(method: str, path: str, who: str, body: dict | None = None):
        key = rm_keys.get(who)
        headers = {"Authorization": f"Bearer {key}"} if key else auth(who)
        return client.request(method, path, headers=headers, json=body)

    with serve([LeadFollowUpWorkflow], lambda factory: LeadActivities(factory).activities()):
        yield call


def lead(lead_id: str, **fields) -> dict:
    return {
        "id": lead_id,
        "name": "某某科技有限公司",
        "source": "website",
        "kind": "corporate",
        "region": "EAST",
        "expected_value": "250000.00",
        **fields,
    }


def assigned(call, lead_id: str, who: str = "ada") -> dict:
    """The lead's detail once its workflow assigned it (polled with a deadline)."""
    return poll(
        lambda: call("GET", f"{BASE}/{lead_id}", who).json(),
        lambda detail: bool(detail.get("owner") and detail["clock"]["live"]),
        timeout=20,
    )


def test_a_new_lead_is_assigned_with_a_live_clock(desk):
    created = desk("POST", BASE, "ada", lead("A1"))
    assert created.status_code == 201, created.text
    assert (created.json()["rule"], created.json()["team"]) == ("website_corporate", "corporate-rm")
    again = desk("POST", BASE, "ada", lead("A1"))
    assert again.status_code == 200 and again.json()["id"] == "A1"
    detail = assigned(desk, "A1")
    assert detail["owner"] == "ann" and detail["due_kind"] == "first_contact"
    due = datetime.fromisoformat(detail["due_at"])
    assert due == datetime.fromisoformat(detail["assigned_at"]) + timedelta(hours=24)
    clock = detail["clock"]
    # `otherwise reassign`: ann loses the lead at the first-contact deadline itself.
    assert datetime.fromisoformat(clock["owner_until"]) == due
    assert clock["steps_ahead"] == [{"at": detail["due_at"], "action": "reassign_limit"}]
    assert 23 * 3600 < clock["remaining_ownership_s"] <= 24 * 3600
    assert [e["action"] for e in detail["history"]] == ["created", "assigned"]
    unmatched = desk("POST", BASE, "ada", lead("A2", source="fax"))
    assert unmatched.status_code == 422 and "no active lead rule" in unmatched.json()["detail"]


def test_an_rm_sees_and_works_only_their_own_leads_and_the_pool(desk):
    desk("POST", BASE, "ada", lead("B1"))
    assert assigned(desk, "B1")["owner"] == "ann"
    mine = desk("GET", BASE, "ann").json()["items"]
    assert [item["id"] for item in mine] == ["B1"]
    assert desk("GET", BASE, "ben").json()["items"] == []
    assert desk("GET", f"{BASE}/B1", "ben").status_code == 404
    assert desk("POST", f"{BASE}/B1/contact", "ben").status_code == 404
    assert desk("GET", f"{BASE}/B1", "cora").status_code == 200  # compliance reads
    assert desk("GET", BASE, "mia").status_code == 403
    assert desk("POST", f"{BASE}/B1/contact", "cora").status_code == 403
    contacted = desk("POST", f"{BASE}/B1/contact", "ann")
    assert contacted.status_code == 200, contacted.text
    body = contacted.json()
    assert (body["status"], body["due_kind"]) == ("contacted", "follow_up")
    last = datetime.fromisoformat(body["last_contacted_at"])
    assert datetime.fromisoformat(body["due_at"]) == last + timedelta(days=7)


def test_claim_inside_the_cooldown_is_refused_with_its_end(desk):
    desk("POST", BASE, "ada", lead("C1"))
    assert assigned(desk, "C1")["owner"] == "ann"
    released = desk("POST", f"{BASE}/C1/release", "ann", {"reason": "not my sector"})
    assert released.status_code == 200, released.text
    assert released.json()["clock"]["stage"] == "pool"
    assert [item["id"] for item in desk("GET", f"{BASE}?scope=pool", "ben").json()["items"]] == [
        "C1"
    ]
    refused = desk("POST", f"{BASE}/C1/claim", "ann")
    assert refused.status_code == 409
    problem = refused.json()
    ends = datetime.fromisoformat(released.json()["released_at"]) + timedelta(weeks=2)
    assert problem.get("code") == "cooldown", problem
    assert datetime.fromisoformat(problem["until"]) == ends
    assert "claim it again only after a cooldown, from" in problem["detail"]
    assert refused.headers["content-type"] == "application/problem+json"
    claimed = desk("POST", f"{BASE}/C1/claim", "ben")
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["owner"] == "ben" and claimed.json()["previous_owner"] == "ann"
    assert desk("POST", f"{BASE}/C1/claim", "ben").json()["code"] == "not_in_pool"
    assert desk("POST", f"{BASE}/C1/claim", "wes").status_code == 404  # ben's lead now


def test_convert_closes_the_lead(desk):
    desk("POST", BASE, "ada", lead("D1"))
    assert assigned(desk, "D1")["owner"] == "ann"
    won = desk("POST", f"{BASE}/D1/convert", "ann")
    assert won.status_code == 200, won.text
    assert (won.json()["status"], won.json()["clock"]["stage"]) == ("won", "closed")
    again = desk("POST", f"{BASE}/D1/contact", "ann")
    assert again.status_code == 409 and again.json()["code"] == "closed"


def test_disqualify_closes_the_lead_and_ends_its_follow_up(desk, settings, api_db_url):
    desk("POST", BASE, "ada", lead("F1"))
    assert assigned(desk, "F1")["owner"] == "ann"
    assert desk("POST", f"{BASE}/F1/disqualify", "ben", {"reason": "no budget"}).status_code == 404
    lost = desk("POST", f"{BASE}/F1/disqualify", "ann", {"reason": "no budget"})
    assert lost.status_code == 200, lost.text
    body = lost.json()
    assert (body["status"], body["owner"], body["clock"]["stage"]) == ("lost", "ann", "closed")
    assert body["closed_at"] is not None and body["due_at"] is None
    assert (body["clock"]["steps_ahead"], body["clock"]["owner_until"]) == ([], None)
    last = body["history"][-1]
    assert (last["action"], last["actor"], last["reason"]) == ("disqualified", "ann", "no budget")

    async def result() -> LeadState:
        client = await connect(settings.temporal)
        return await client.get_workflow_handle("lead:F1", result_type=LeadState).result()

    ended = asyncio.run(asyncio.wait_for(result(), 30))  # the follow-up has nothing left to do
    assert (ended.stage, ended.status, ended.due_at) == ("closed", "lost", None)
    # Ann keeps it on record, but not among the leads she works, nor against her capacity.
    assert [(i["id"], i["status"]) for i in desk("GET", BASE, "ann").json()["items"]] == [
        ("F1", "lost")
    ]
    for status in ("new", "contacted"):
        assert desk("GET", f"{BASE}?status={status}", "ann").json()["items"] == []
    engine = make_engine(api_db_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            assert open_counts(session, ["ann"]) == {"ann": 0}
    finally:
        engine.dispose()
    again = desk("POST", f"{BASE}/F1/disqualify", "ann", {"reason": "no budget"})
    assert again.status_code == 409 and again.json()["code"] == "closed"


def test_an_administrator_disqualifies_a_pool_lead_as_invalid(desk):
    desk("POST", BASE, "ada", lead("G1"))
    assert assigned(desk, "G1")["owner"] == "ann"
    assert desk("POST", f"{BASE}/G1/release", "ann", {"reason": "duplicate"}).is_success
    assert desk("POST", f"{BASE}/G1/disqualify", "ben").status_code == 403  # not ben's to close
    invalid = desk("POST", f"{BASE}/G1/disqualify", "ada", {"outcome": "invalid"})
    assert invalid.status_code == 200, invalid.text
    assert (invalid.json()["status"], invalid.json()["clock"]["stage"]) == ("invalid", "closed")
    assert invalid.json()["history"][-1]["reason"] == "invalid"  # no reason given: the outcome
    assert desk("GET", f"{BASE}?scope=pool", "ben").json()["items"] == []


def test_without_temporal_a_create_keeps_the_lead_and_answers_503(
    client, auth, api_db_url, settings
):
    release(client, auth, RULES, ruleset="corporate_leads")
    offline = settings.model_copy(
        update={"temporal": settings.temporal.model_copy(update={"enabled": False})}
    )
    with TestClient(create_app(offline)) as down:
        created = down.post(BASE, headers=auth("ada"), json=lead("E1"))
        assert created.status_code == 503
        detail = down.get(f"{BASE}/E1", headers=auth("ada"))
    assert detail.status_code == 200
    assert detail.json()["clock"] == {**detail.json()["clock"], "live": False, "stage": "assigning"}
