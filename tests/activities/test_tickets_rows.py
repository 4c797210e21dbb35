"""Escalation notices: a person notified gets a task; a queue (`kind:name`) never does."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import sqlalchemy as sa

from activities.tickets_rows import notices
from store.session import make_engine, make_session_factory, session_scope
from store.work import Task, Ticket
from workflows.ticket_sla_types import EscalationRecord

AT = dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC)
RECORD = SimpleNamespace(
    workflow_id="ticket:T1", rule=SimpleNamespace(rule="complaint", ruleset="desk", version=3)
)


def escalation(key: str, recipient: str | None, action: str = "notify") -> EscalationRecord:
    return EscalationRecord(key=key, clock="resolution", trigger="on_breach", cycle=0,
                            action=action, recipient=recipient, at=AT)  # fmt: skip


def test_only_people_get_notice_tasks(migrated_url: str) -> None:
    factory = make_session_factory(make_engine(migrated_url))
    fired = [
        escalation("a", "bo"),
        escalation("b", "role:team_lead"),
        escalation("c", "team:desk"),
        escalation("d", "manager:desk"),  # the team's manager: a queue until resolved to a name
        escalation("e", "x" * 80),  # longer than any user name
        escalation("f", "cy", action="reassign"),
        escalation("g", None),
    ]
    with session_scope(factory) as session:
        ticket = Ticket(id="T1", category="complaint", priority="normal", status="new",
                        channel="phone", team="desk", subject="s", customer_id="C1")  # fmt: skip
        session.add(ticket)
        session.flush()
        notices(session, ticket, RECORD, fired)
    with session_scope(factory) as session:
        rows = session.execute(sa.select(Task.assignee, Task.kind, Task.idempotency_key)).all()
    assert rows == [("bo", "ticket_notice", "ticket:T1|a|notice")]
