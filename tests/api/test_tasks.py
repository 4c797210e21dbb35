"""The tasks routes: each user lists and completes only the tasks assigned to them by name,
soonest deadline first; completing is audited with the user as actor and happens once; on
SQLite and PostgreSQL. (Telling the task's workflow is tested in tests/workflows.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from store.audit import AuditEntry
from store.session import make_engine, make_session_factory, session_scope
from store.work import Task

DUE = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)


@pytest.fixture
def tasks(api_db_url, settings) -> dict[str, int]:
    """Tasks of sal (a callback, an escalated one, a notice) and one of someone else."""
    settings.temporal.enabled = False  # no workflow to tell in these tests
    specs = {
        "later": ("sal", "open", DUE + timedelta(days=1)),
        "sooner": ("sal", "escalated", DUE),
        "notice": ("sal", "open", None),
        "bobs": ("bob", "open", DUE),
    }
    engine = make_engine(api_db_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            rows = {
                key: Task(idempotency_key=key, kind="callback", title=key, assignee=who,
                          customer_id="C1", status=status, due_at=due, workflow_id="w",
                          ruleset="retail", rule="dormant_callback")
                for key, (who, status, due) in specs.items()
            }  # fmt: skip
            session.add_all(rows.values())
            session.flush()
            return {key: task.id for key, task in rows.items()}
    finally:
        engine.dispose()


def test_a_user_lists_only_their_own_tasks_soonest_first(client, auth, tasks):
    listed = client.get("/v1/tasks", headers=auth("sal"))
    assert listed.status_code == 200, listed.text
    assert [t["title"] for t in listed.json()["items"]] == ["sooner", "later", "notice"]
    only_open = client.get("/v1/tasks", params={"status": "open"}, headers=auth("sal")).json()
    assert [t["title"] for t in only_open["items"]] == ["later", "notice"]
    assert client.get("/v1/tasks", headers=auth("sam")).json()["items"] == []
    assert client.get("/v1/tasks", headers=auth("ada")).status_code == 403


def test_completing_is_once_audited_and_only_for_the_assignee(client, auth, tasks, api_db_url):
    url = f"/v1/tasks/{tasks['sooner']}/complete"
    done = client.post(url, headers=auth("sal"))
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["completed_at"] is not None) == ("done", True)
    assert client.post(url, headers=auth("sal")).status_code == 409
    assert (
        client.post(f"/v1/tasks/{tasks['bobs']}/complete", headers=auth("sal")).status_code == 404
    )
    assert client.post("/v1/tasks/999999/complete", headers=auth("sal")).status_code == 404
    engine = make_engine(api_db_url)
    try:
        with engine.connect() as conn:
            audited = conn.execute(
                sa.select(AuditEntry.actor, AuditEntry.action, AuditEntry.subject_id).where(
                    AuditEntry.subject_type == "task"
                )
            ).all()
    finally:
        engine.dispose()
    assert [tuple(a) for a in audited] == [("sal", "task.completed", str(tasks["sooner"]))]
