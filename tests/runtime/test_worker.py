"""The worker composition root, on a real dev server with a real SQLite database.

`build_worker` registers every workflow the `workflows` package defines and exactly the
activities those workflows call (found by walking the package, so none can be forgotten); and a
worker it builds runs a campaign started the way the API starts one, end to end: the run
selects exactly the customers the audience preview counts, delivers to each once, and a second
start with the same key is the same run, not a second one.
"""

from __future__ import annotations

import asyncio
import importlib
from datetime import UTC, datetime

import pytest
from runtime_samples import REPO

from cli.dev_commands import bootstrap_demo
from config.settings import Settings
from services import campaign_control, campaigns
from services.campaigns import ActiveCampaign
from store.session import make_engine, make_session_factory, session_scope

from runtime.temporal_client import connect  # isort: skip
from runtime.worker import build_worker  # isort: skip


def _modules():
    for path in sorted((REPO / "workflows").glob("*.py")):
        yield importlib.import_module(f"workflows.{path.stem}")


def defined_workflows() -> set[str]:
    """Every workflow the `workflows` package defines, by its registered name."""
    return {
        definition.name
        for module in _modules()
        for value in vars(module).values()
        if (definition := getattr(value, "__temporal_workflow_definition", None)) is not None
    }


def called_activities() -> set[str]:
    """Every activity name a workflow calls: the workflows' `ActivityRef`s and `*_ACTIVITY`s."""
    names = set()
    for module in _modules():
        for key, value in vars(module).items():
            if type(value).__name__ == "ActivityRef":
                names.add(value.name)
            elif key.endswith("_ACTIVITY") and isinstance(value, str):
                names.add(value)
    return names


@pytest.fixture
def demo(tmp_path, monkeypatch, temporal):
    """Settings on a bootstrapped demo database (300 customers, shipped rulesets active)."""
    monkeypatch.chdir(tmp_path)  # the demo keys file goes to ./.rulebank/
    settings = Settings(
        database={"url": f"sqlite:///{tmp_path / 'rulebank.db'}"},
        temporal=temporal,
        templates_dir=REPO / "templates",
    )
    bootstrap_demo(
        settings, customers=300, rulesets=REPO / "rulesets", templates=REPO / "templates"
    )
    engine = make_engine(settings.database.url)
    yield settings, make_session_factory(engine)
    engine.dispose()


def _names(items) -> set[str]:
    return {getattr(i, "__temporal_activity_definition").name for i in items}


@pytest.mark.asyncio
async def test_build_worker_registers_every_workflow_and_activity(demo) -> None:
    settings, factory = demo
    client = await connect(settings.temporal)
    worker = build_worker(client, settings, factory)
    config = worker.config()
    assert config["task_queue"] == settings.temporal.task_queue
    workflows = {getattr(w, "__temporal_workflow_definition").name for w in config["workflows"]}
    assert workflows == defined_workflows()
    assert {"CampaignRunWorkflow", "JourneyWorkflow", "TaskFollowUpWorkflow",
            "LeadFollowUpWorkflow", "TicketSLAWorkflow"} <= workflows  # fmt: skip
    called = called_activities()
    assert {"campaign.deliver_page", "journey.send", "task.open", "lead.act",
            "ticket.record"} <= called  # fmt: skip
    assert _names(config["activities"]) == called
    assert config["activity_executor"] is not None  # activities are sync: they need threads


@pytest.mark.asyncio
async def test_a_started_campaign_runs_to_completion_once(demo) -> None:
    settings, factory = demo
    client = await connect(settings.temporal)
    with session_scope(factory) as session:
        found = campaigns.get_campaign(session, "rural_bank.monthly_statement_notice")
        # No contact policy: quiet hours would defer the sends to tomorrow morning.
        campaign = ActiveCampaign(found.plan, found.version, found.spec.model_copy(
            update={"policy": None}))  # fmt: skip
        expected = campaigns.audience(session, campaign, datetime.now(UTC), 0)["count"]
    assert expected == 300
    queue = settings.temporal.task_queue
    async with build_worker(client, settings, factory):
        first = await campaign_control.start(client, campaign, "manual-test", queue)
        handle = client.get_workflow_handle(first["workflow_id"])
        result = await asyncio.wait_for(handle.result(), timeout=60)
        again = await campaign_control.start(client, campaign, "manual-test", queue)
    assert first["created"] is True and again["created"] is False
    assert (
        again["workflow_id"]
        == first["workflow_id"]
        == ("campaign:rural_bank:monthly_statement_notice:manual-test")
    )
    assert result["status"] == "completed"
    counts = result["counts"]
    assert counts["selected"] == expected
    outcomes = sum(counts.get(k, 0) for k in ("sent", "suppressed", "failed", "duplicates"))
    assert outcomes == expected and counts.get("sent", 0) > 0
