"""Ticket and calendar routes against a real Temporal dev server, a ticket worker and SQLite.

A complaint opened through the API starts its SLA workflow; the detail shows the live clocks;
every action reaches the workflow as an update, answers the state after it and is audited;
an escalation by hand raises the priority and leaves a `manual` escalation row; queues filter
on the mirror; the role matrix holds; a calendar edit reaches running tickets;
and without Temporal the API degrades (503 for the step that needs it), never 500s.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from api_samples import poll, release
from fastapi.testclient import TestClient

from activities.tickets import TicketActivities
from calendars import get_calendar, parse_hours
from config.settings import Settings
from workflows.ticket_sla import TicketSLAWorkflow

SERVICE = """ruleset service_api
  timezone "Asia/Shanghai"
  calendar CN

sla complaint
  applies to ticket where ticket.category == "complaint"
  hours business 09:00 to 18:00
  target normal: first_response 2 business hours, resolution 5 business days
  target urgent: first_response 1 business hours, resolution 1 business days
  regulatory deadline 15 days extendable to 30 days then by 30 days
  never assign ticket.named_employee
  pause while ticket.status == "waiting_on_customer"
  stop when ticket.status in ["resolved", "closed"]
  reset when ticket.status == "reopened"
  escalate
    on breach of first_response: notify role team_lead
"""
BASE, TZ = "/v1/tickets", "Asia/Shanghai"
CN, HOURS, CN_ZONE = get_calendar("CN"), parse_hours("09:00", "18:00"), ZoneInfo(TZ)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def settings(temporal_settings: Settings) -> Settings:
    """Temporal on: the dev server of tests/conftest.py, a task queue of this test's own."""
    return temporal_settings


@pytest.fixture
def desk(client: TestClient, auth, serve) -> Iterator[TestClient]:
    """The service ruleset released through the API, and a worker serving the task queue."""
    release(client, auth, SERVICE, ruleset="service_api")
    with serve([TicketSLAWorkflow], lambda factory: TicketActivities(factory).activities()):
        yield client


def ticket_id() -> str:
    return f"T-{uuid.uuid4().hex[:12]}"


def post(client, auth, path: str, who: str = "sam", json: dict | None = None, **headers):
    return client.post(path, json=json, headers={**auth(who), **headers})


def clock(state: dict, name: str) -> dict:
    return next(c for c in state["clocks"] if c["name"] == name)


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_a_complaint_runs_its_sla_through_the_api(desk, auth) -> None:
    tid = ticket_id()
    body = {
        "id": tid,
        "category": "complaint",
        "team": "desk",
        "subject": "ATM kept my card",
        "named_employee": "eve",
        "regulatory": True,
    }
    opened = post(desk, auth, BASE, json=body)
    assert opened.status_code == 201, opened.text
    ticket, state = opened.json()["ticket"], opened.json()["sla"]
    assert ticket["sla_rule"] == "complaint" and ticket["ruleset_version"] == 1
    start = parse(ticket["opened_at"])
    expected = CN.add_business_seconds(start, 7200, hours=HOURS, tz=TZ)
    assert parse(clock(state, "first_response")["due_at"]) == expected
    assert post(desk, auth, BASE, json=body).status_code == 200  # the same ticket again

    detail = poll(
        lambda: desk.get(f"{BASE}/{tid}", headers=auth("cora")).json(),
        lambda d: d["sla"] is not None and d["clocks"],
    )
    assert parse(clock(detail["sla"], "first_response")["due_at"]) == expected
    assert {c["clock"] for c in detail["clocks"]} == {"first_response", "resolution"}

    acked = post(desk, auth, f"{BASE}/{tid}/acknowledge").json()
    assert acked["ticket"]["assignee"] == "sam" and acked["sla"]["status"] == "in_progress"
    paused = post(desk, auth, f"{BASE}/{tid}/wait-on-customer").json()["sla"]
    assert paused["paused"] and clock(paused, "resolution")["status"] == "paused"
    resumed = post(desk, auth, f"{BASE}/{tid}/resume").json()["sla"]
    shift = CN.business_seconds_between(
        parse(paused["as_of"]), parse(resumed["as_of"]), hours=HOURS, tz=TZ
    )
    before = parse(clock(acked["sla"], "resolution")["due_at"])
    after = parse(clock(resumed, "resolution")["due_at"])
    assert CN.business_seconds_between(before, after, hours=HOURS, tz=TZ) == pytest.approx(shift)

    key = {"Idempotency-Key": f"respond-{tid}"}
    first = post(desk, auth, f"{BASE}/{tid}/respond", **key).json()["sla"]
    again = post(desk, auth, f"{BASE}/{tid}/respond", **key).json()["sla"]
    assert first["seq"] == again["seq"]  # one step, answered twice
    refused = post(desk, auth, f"{BASE}/{tid}/reassign", json={"assignee": "eve"})
    assert refused.status_code == 409 and refused.json()["code"] == "named_employee"
    self_approved = post(desk, auth, f"{BASE}/{tid}/extend", json={"approver": "sam"})
    assert self_approved.status_code == 409 and self_approved.json()["code"] == "approver"
    extended = post(desk, auth, f"{BASE}/{tid}/extend", json={"approver": "cora"}).json()
    assert extended["sla"]["deadline"]["extensions"][0]["approver"] == "cora"
    assert (
        post(desk, auth, f"{BASE}/{tid}/reassign", json={"role": "team_lead"}).json()["ticket"][
            "assigned_role"
        ]
        == "team_lead"
    )
    post(desk, auth, f"{BASE}/{tid}/resolve")
    reopened = post(desk, auth, f"{BASE}/{tid}/reopen").json()["sla"]
    assert clock(reopened, "first_response")["cycle"] == 1
    assert post(desk, auth, f"{BASE}/{tid}/resume").status_code == 409

    detail = desk.get(f"{BASE}/{tid}", headers=auth("sam")).json()
    assert detail["extension_records"][0]["approver"] == "cora"
    audit = desk.get("/v1/audit?limit=200", headers=auth("cora")).json()["items"]
    mine = [e["action"] for e in audit if e["subject_id"] == tid]
    assert mine == [
        "ticket.created",
        "ticket.sla_started",
        "ticket.acknowledge",
        "ticket.wait_on_customer",
        "ticket.resume",
        "ticket.respond",
        "ticket.extend",
        "ticket.reassign",
        "ticket.resolve",
        "ticket.reopen",
    ]


def test_a_manual_escalation_raises_the_priority_and_is_recorded(desk, auth) -> None:
    tid = ticket_id()
    body = {"id": tid, "category": "complaint", "team": "desk", "subject": "s"}
    opened = post(desk, auth, BASE, json=body).json()["ticket"]
    start = parse(opened["opened_at"])
    escalated = post(
        desk, auth, f"{BASE}/{tid}/escalate", json={"priority": "urgent", "role": "branch_manager"}
    )
    assert escalated.status_code == 200, escalated.text
    ticket, state = escalated.json()["ticket"], escalated.json()["sla"]
    assert ticket["priority"] == state["priority"] == "urgent"
    # The urgent targets apply at once: first response within 1 business hour of the start.
    urgent = CN.add_business_seconds(start, 3600, hours=HOURS, tz=TZ)
    assert parse(clock(state, "first_response")["due_at"]) == urgent
    # At the top already: escalating again notifies and keeps the priority; no target, no 409.
    again = post(desk, auth, f"{BASE}/{tid}/escalate", json={})
    assert again.status_code == 200 and again.json()["ticket"]["priority"] == "urgent"
    assert again.json()["sla"]["escalations"] == 2  # escalations by hand count too
    reached = desk.get(f"{BASE}?escalated_to=role:branch_manager", headers=auth("sam")).json()
    assert [t["id"] for t in reached["items"]] == [tid]
    assert desk.get(f"{BASE}?escalated_to=role:nobody", headers=auth("sam")).json()["items"] == []
    unknown = post(desk, auth, f"{BASE}/{tid}/escalate", json={"priority": "critical"})
    assert unknown.status_code == 409 and unknown.json()["code"] == "unknown_priority"

    detail = desk.get(f"{BASE}/{tid}", headers=auth("cora")).json()
    rows = [
        (e["trigger"], e["action"], e["recipient"], e["priority_from"], e["priority_to"])
        for e in detail["escalations"]
    ]
    assert rows == [
        ("manual", "raise_priority", "role:branch_manager", "normal", "urgent"),
        ("manual", "notify", None, "urgent", "urgent"),
    ]
    audit = desk.get("/v1/audit?action=ticket.escalate", headers=auth("cora")).json()["items"]
    mine = [e for e in audit if e["subject_id"] == tid]
    assert [(e["actor"], e["detail"]["priority"]) for e in mine] == [("sam", "urgent")] * 2
    assert [e["detail"]["escalations"][0]["trigger"] for e in mine] == ["manual", "manual"]
    assert mine[0]["detail"]["escalations"][0]["priority"] == "urgent"


def test_queues_filter_on_team_and_due_time(desk, auth) -> None:
    ids = {team: ticket_id() for team in ("a", "b")}
    for team, tid in ids.items():
        body = {"id": tid, "category": "complaint", "team": team, "subject": "s"}
        assert post(desk, auth, BASE, json=body).status_code == 201
    praise = post(desk, auth, BASE, json={"category": "praise", "team": "a", "subject": "s"})
    assert praise.json()["ticket"]["sla_rule"] is None
    listed = poll(
        lambda: desk.get(f"{BASE}?team=a", headers=auth("sam")).json(),
        lambda r: r["items"] and r["items"][0]["clocks"],
    )
    assert [t["id"] for t in listed["items"]] == [ids["a"], praise.json()["ticket"]["id"]]
    due = parse(
        clock(post(desk, auth, f"{BASE}/{ids['b']}/respond").json()["sla"], "resolution")["due_at"]
    )
    minutes = int((due - datetime.now(UTC)).total_seconds() // 60) + 2
    soon = desk.get(f"{BASE}?breaching_within={minutes}", headers=auth("sam")).json()["items"]
    assert {t["id"] for t in soon} >= set(ids.values())
    assert desk.get(f"{BASE}?breaching_within=1", headers=auth("sam")).json()["items"] == []
    assert desk.get(f"{BASE}?breached=true", headers=auth("cora")).json()["items"] == []
    # A role queue (where an escalation reassigns to a role) and a person's own queue.
    pid = praise.json()["ticket"]["id"]
    moved = post(desk, auth, f"{BASE}/{pid}/reassign", json={"role": "team_lead"})
    assert moved.status_code == 200
    queue = desk.get(f"{BASE}?assigned_role=team_lead", headers=auth("sam")).json()["items"]
    assert [t["id"] for t in queue] == [pid]
    post(desk, auth, f"{BASE}/{ids['a']}/reassign", json={"assignee": "amy"})
    mine = desk.get(f"{BASE}?assignee=amy", headers=auth("sam")).json()["items"]
    assert [t["id"] for t in mine] == [ids["a"]]


def test_the_role_matrix(desk, auth) -> None:
    body = {"category": "praise", "team": "a", "subject": "s"}
    assert post(desk, auth, BASE, "cora", json=body).status_code == 403  # compliance reads only
    assert desk.get(BASE, headers=auth("cora")).status_code == 200
    for who in ("mia", "sal"):
        assert desk.get(BASE, headers=auth(who)).status_code == 403
    tid = post(desk, auth, BASE, "ada", json=body).json()["ticket"]["id"]
    assert post(desk, auth, f"{BASE}/{tid}/acknowledge", "cora").status_code == 403
    assert post(desk, auth, f"{BASE}/{tid}/acknowledge", "ada").status_code == 200
    assert desk.get(f"{BASE}/nope", headers=auth("sam")).status_code == 404
    assert desk.put("/v1/calendars/CN/years/2030", json={}, headers=auth("sam")).status_code == 403


def test_a_calendar_edit_reaches_running_tickets(desk, auth) -> None:
    tid = ticket_id()
    body = {"id": tid, "category": "complaint", "team": "desk", "subject": "s"}
    state = post(desk, auth, BASE, json=body).json()["sla"]
    due = parse(clock(state, "resolution")["due_at"])
    day = due.astimezone(CN_ZONE).date()
    current = desk.get(f"/v1/calendars/CN/years/{day.year}", headers=auth("sam")).json()
    table = {
        "holidays": [*current["holidays"], {"date": day.isoformat(), "name": "test"}],
        "workdays": current["workdays"],
    }
    put = desk.put(f"/v1/calendars/CN/years/{day.year}", json=table, headers=auth("ada"))
    assert put.status_code == 200 and put.json()["source"] == "database"
    moved = poll(
        lambda: desk.get(f"{BASE}/{tid}", headers=auth("sam")).json(),
        lambda d: parse(clock(d["sla"], "resolution")["due_at"]) != due,
    )
    later = parse(clock(moved["sla"], "resolution")["due_at"]).astimezone(CN_ZONE)
    assert later.date() > day and later.time() == due.astimezone(CN_ZONE).time()


def test_without_temporal_the_api_degrades(client, auth, settings: Settings) -> None:
    """No worker and no server at this address: 503 where Temporal is needed, never 500."""
    release(client, auth, SERVICE, ruleset="service_api")
    client.app.state.temporal.settings = settings.temporal.model_copy(update={"enabled": False})
    tid = ticket_id()
    body = {"id": tid, "category": "complaint", "team": "desk", "subject": "s"}
    assert post(client, auth, BASE, json=body).status_code == 503
    detail = client.get(f"{BASE}/{tid}", headers=auth("sam")).json()
    assert detail["sla_rule"] == "complaint" and detail["sla"] is None and detail["sla_error"]
    assert post(client, auth, f"{BASE}/{tid}/acknowledge").status_code == 503
    praise = post(client, auth, BASE, json={"category": "praise", "team": "a", "subject": "s"})
    assert praise.status_code == 201
    done = post(client, auth, f"{BASE}/{praise.json()['ticket']['id']}/resolve")
    assert done.status_code == 200 and done.json()["ticket"]["status"] == "resolved"
