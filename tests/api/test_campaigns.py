"""Campaign routes against a real Temporal dev server, a real worker and a SQLite database.

Activation through the API creates the schedules (after the transaction committed); the list
and detail show schedule state and live runs; the audience preview counts in the database and
returns ids only; a start with the same key twice is one run and one audit entry; pause and
resume reach the schedule and a running run (which honours them between pages), stop ends a
run cleanly, trigger fires the schedule; and without Temporal the API degrades, never 500s.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from api_samples import poll, release
from fastapi.testclient import TestClient

from activities.campaign import CampaignActivities
from api.app import create_app
from config.settings import Settings
from delivery.deliverer import Deliverer
from runtime.temporal_client import connect
from services import campaign_control, demo
from store.outbox import Message
from store.session import make_engine, make_session_factory
from workflows.campaign_run import CampaignRunWorkflow

SHOP = """ruleset {name}
  title "Test shop"
  timezone "Asia/Shanghai"

campaign statement
  audience customers
  schedule monthly on day 1 at 09:00
  category service
  send push "monthly_statement_push"

campaign manual_only
  audience customers where customer.total_assets >= 50_000
  category service
  send push "monthly_statement_push"

campaign anniversary
  audience customers where customer.opened_on is today
  schedule daily at 09:00
  category service
  send push "monthly_statement_push"
"""
BASE = "/v1/campaigns"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only: the Temporal side is what these tests are about."""
    return sqlite_url


@pytest.fixture
def settings(temporal_settings: Settings) -> Settings:
    """Temporal on: the dev server of tests/conftest.py, a task queue of this test's own (with
    the test's own ruleset `name`, that keeps tests on the module's server apart)."""
    return temporal_settings


@pytest.fixture
def name() -> str:
    """The test's own ruleset name: run ids derive from it, and the server is shared."""
    return f"shop_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def shop(client: TestClient, auth, name: str, api_db_url: str) -> TestClient:
    """60 demo customers and the test's ruleset released through the API."""
    engine = make_engine(api_db_url)
    demo.seed_customers(make_session_factory(engine), 60, seed=3, today=date(2025, 6, 1))
    engine.dispose()
    release(client, auth, SHOP.format(name=name), ruleset=name)
    return client


@pytest.fixture
def statement(name: str) -> str:
    return f"{BASE}/{name}.statement"


@pytest.fixture
def worker(serve, settings: Settings) -> Callable[[], AbstractContextManager[None]]:
    """`with worker():` a campaign worker for the block's duration."""

    def activities(factory):
        deliverer = Deliverer.from_settings(settings, factory)
        return CampaignActivities(factory, deliverer, settings).activities()

    return lambda: serve([CampaignRunWorkflow], activities)


def _get(client, auth, url, who="mia") -> dict:
    response = client.get(url, headers=auth(who))
    assert response.status_code == 200, response.text
    return response.json()


def test_activation_creates_schedules_and_the_list_shows_them(shop, auth, name, statement):
    listed = poll(lambda: _get(shop, auth, BASE, "cora"),
                  lambda r: r["items"] and r["items"][2]["state"] == "scheduled")  # fmt: skip
    by_id = {item["id"]: item for item in listed["items"]}
    assert list(by_id) == [f"{name}.anniversary", f"{name}.manual_only", f"{name}.statement"]
    assert by_id[f"{name}.statement"]["schedule"] == "monthly at 09:00 Asia/Shanghai"
    anniversary = by_id[f"{name}.anniversary"]["schedule"]
    assert anniversary == "daily at 09:00 in each customer's zone (run from Asia/Shanghai)"
    assert by_id[f"{name}.manual_only"]["state"] == "unscheduled"
    detail = _get(shop, auth, statement)
    assert detail["state"] == "scheduled" and detail["version"] == 1
    assert detail["schedule_detail"]["id"] == f"campaign:{name}:statement"
    assert detail["next_run"].endswith("01:00:00Z")  # 09:00 in Shanghai is 01:00 UTC
    assert shop.get(statement, headers=auth("sal")).status_code == 403
    assert shop.get(f"{BASE}/{name}.nothing", headers=auth("mia")).status_code == 404


def test_audience_preview_counts_and_samples_ids_only(shop, auth, name, statement) -> None:
    everyone = _get(shop, auth, f"{statement}/audience?sample=5", "cora")
    assert everyone["count"] == 60
    assert everyone["sample"] == sorted(everyone["sample"]) and len(everyone["sample"]) == 5
    rich = _get(shop, auth, f"{BASE}/{name}.manual_only/audience?sample=50")
    assert 0 < rich["count"] < 60 and len(rich["sample"]) == rich["count"]


def test_start_twice_is_one_run_and_one_audit_entry(shop, auth, name) -> None:
    headers = {**auth("mia"), "Idempotency-Key": "launch-1"}
    first = shop.post(f"{BASE}/{name}.manual_only/start", headers=headers)
    again = shop.post(f"{BASE}/{name}.manual_only/start", headers=headers)
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["created"] and not again.json()["created"]
    assert (
        first.json()["workflow_id"]
        == again.json()["workflow_id"]
        == (f"campaign:{name}:manual_only:manual-launch-1")
    )
    audit = _get(shop, auth, "/v1/audit?action=campaign.started", "cora")["items"]
    assert [e["subject_id"] for e in audit] == [f"{name}.manual_only"]
    trigger = shop.post(f"{BASE}/{name}.manual_only/trigger", headers=auth("mia"))
    assert trigger.status_code == 409  # no schedule to fire: start it instead


def test_pause_resume_reach_the_schedule_and_the_running_run(shop, auth, worker, statement) -> None:
    started = shop.post(f"{statement}/start", headers=auth("mia")).json()
    wid = started["workflow_id"]  # no worker yet: the run waits, visibly running
    poll(lambda: _get(shop, auth, statement), lambda r: [x["workflow_id"] for x in r["running"]]
         == [wid])  # fmt: skip
    paused = shop.post(f"{statement}/pause", headers=auth("mia")).json()
    assert paused == {"action": "pause", "schedule": "paused", "signalled": [wid]}
    with worker():
        has_progress = lambda r: r["running"] and r["running"][0]["progress"] is not None  # noqa: E731
        detail = poll(lambda: _get(shop, auth, statement), has_progress)
        assert detail["state"] == "running" and detail["schedule_detail"]["paused"] is True
        assert detail["running"][0]["progress"]["paused"] is True
        assert detail["running"][0]["progress"]["pages"] == 0  # held before its first page
        resumed = shop.post(f"{statement}/resume", headers=auth("ada")).json()
        assert resumed["schedule"] == "active" and resumed["signalled"] == [wid]
        done = poll(lambda: _get(shop, auth, statement), lambda r: r["last_run"] is not None)
    assert done["last_run"]["workflow_id"] == wid and done["last_run"]["status"] == "completed"
    assert done["state"] == "scheduled"


def test_stop_ends_a_run_cleanly_and_trigger_fires_the_schedule(
    shop, auth, settings, worker, name, statement
) -> None:
    wid = shop.post(f"{statement}/start", headers=auth("mia")).json()["workflow_id"]
    poll(lambda: _get(shop, auth, statement), lambda r: r["state"] == "running")
    assert shop.post(f"{statement}/stop", headers=auth("mia")).json()["signalled"] == [wid]

    async def result() -> dict:
        client = await connect(settings.temporal)
        return await client.get_workflow_handle(wid).result()

    with worker():
        stopped = asyncio.run(asyncio.wait_for(result(), 30))
        assert stopped["status"] == "stopped" and stopped["pages"] == 0
        fired = shop.post(f"{statement}/trigger", headers=auth("ada"))
        assert fired.json()["schedule"] == "triggered"
        runs = poll(lambda: _get(shop, auth, statement), lambda r: r["last_run"] is not None
                    and r["last_run"]["workflow_id"] != wid)  # fmt: skip
    assert runs["last_run"]["workflow_id"].startswith(f"campaign:{name}:statement-")


def test_a_scheduled_run_keys_its_sends_by_its_own_workflow_id(
    shop, auth, api_db_url, worker, statement
) -> None:
    # The schedule's input has no root run id (it cannot know Temporal's `<schedule>-<time>`
    # id of each fire): the run must key its sends by its own workflow id, so the next fire
    # sends again while a retry of this one never does.
    poll(lambda: _get(shop, auth, statement), lambda r: r["state"] == "scheduled")
    with worker():
        assert shop.post(f"{statement}/trigger", headers=auth("ada")).status_code == 200
        done = poll(lambda: _get(shop, auth, statement), lambda r: r["last_run"] is not None)
    fired = done["last_run"]["workflow_id"]
    engine = make_engine(api_db_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.select(Message.workflow_id, Message.idempotency_key)).all()
    engine.dispose()
    assert rows and {w for w, _ in rows} == {fired}
    assert all(key.startswith(f"{fired}|") for _, key in rows)


def test_without_temporal_lists_degrade_and_control_is_503(shop, auth, settings, statement):
    off = settings.model_copy(update={"temporal": settings.temporal.model_copy(
        update={"enabled": False})})  # fmt: skip
    with TestClient(create_app(off)) as client:
        listed = _get(client, auth, BASE)
        assert {item["state"] for item in listed["items"]} == {"unknown"}
        response = client.post(f"{statement}/start", headers=auth("mia"))
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert _get(client, auth, f"{statement}/audience")["count"] == 60


def test_a_local_time_campaign_triggers_while_its_day_long_run_waits(
    shop, auth, name, monkeypatch
) -> None:
    # No worker: each run stays in flight, as a local-time run does for most of its day.
    url = f"{BASE}/{name}.anniversary"
    poll(lambda: _get(shop, auth, url), lambda r: r["state"] == "scheduled")
    assert shop.post(f"{url}/trigger", headers=auth("ada")).json()["schedule"] == "triggered"
    first = poll(lambda: _get(shop, auth, url), lambda r: len(r["running"]) == 1)
    again = shop.post(f"{url}/trigger", headers=auth("ada")).json()
    assert again["schedule"] == "already triggered"  # a double click fires once
    monkeypatch.setattr(campaign_control, "RETRIGGER_GUARD", timedelta(0))
    # Later on, a trigger runs even though the first run still waits (SKIP would drop it).
    assert shop.post(f"{url}/trigger", headers=auth("ada")).json()["schedule"] == "triggered"
    both = poll(lambda: _get(shop, auth, url), lambda r: len(r["running"]) == 2)
    assert first["running"][0]["workflow_id"] in {r["workflow_id"] for r in both["running"]}
