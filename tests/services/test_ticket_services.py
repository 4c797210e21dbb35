"""The ticket services on SQLite and PostgreSQL: the first matching SLA is pinned with its time
zone (the branch's or customer's, else the rule's fixed zone) and calendar, re-opening is
idempotent, tickets without an SLA follow the same rules, the workflow's records are
idempotent by `seq`, and queues filter on the clock mirror."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

import dsl
from activities import tickets_rows
from services import tickets, tickets_queue
from services.actor import Actor
from services.errors import ConflictError, InvalidError
from services.users import create_user
from store.audit import AuditEntry
from store.calendar import BranchTimezone
from store.customer import Customer
from store.service_desk import TicketEscalation
from store.session import make_engine, make_session_factory, session_scope
from store.user import Role
from store.work import Ticket
from tests.workflows.registry_support import add_active_version
from workflows.ticket_sla_engine import SlaEngine
from workflows.ticket_sla_types import EscalationRecord, TicketAction, TicketRecord

SAM = Actor("sam", Role.SERVICE_DESK)
NOW = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)  # Monday 09:00 in Shanghai
RULES = """\
ruleset desk
  timezone "Asia/Shanghai"
  calendar CN

sla complaint
  applies to ticket where ticket.category == "complaint"
  hours business 09:00 to 18:00
  timezone from branch
  start from ticket.reported_at
  target normal: first_response 2 business hours, resolution 5 business days
  pause while ticket.status == "waiting_on_customer"
  escalate
    on breach of first_response: notify role team_lead

sla inquiry
  applies to ticket where ticket.category in ["inquiry", "complaint"]
  hours around_the_clock
  timezone from customer
  target normal: first_response 4 hours, resolution 3 days
"""

ZONES = """\
ruleset desk_zones
  timezone "Asia/Shanghai"
  calendar CN

sla card
  applies to ticket where ticket.category == "card"
  hours business 09:00 to 18:00
  timezone "Asia/Urumqi"
  timezone from branch
  target normal: first_response 2 business hours

sla fraud
  applies to ticket where ticket.category == "fraud"
  hours business 09:00 to 18:00
  timezone "Asia/Urumqi"
  timezone from customer
  target normal: first_response 2 business hours
"""


@pytest.fixture
def factory(migrated_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(migrated_url)
    built = make_session_factory(engine)
    plan = dsl.compile_source(RULES, "desk.rules").plan
    with session_scope(built) as session:
        add_active_version(session, plan, RULES, version=3)
        session.add(BranchTimezone(branch="XJ01", timezone="Asia/Urumqi", updated_by="ada"))
        session.add(
            Customer(
                id="C1",
                name="x",
                kind="retail",
                status="active",
                tier="a",
                level=1,
                locale="zh_CN",
                timezone="Asia/Hong_Kong",
                total_assets=0,
                balance=0,
                credit_limit=0,
                balance_growth_90d=0.0,
            )
        )
        create_user(session, "cora", Role.COMPLIANCE)
        create_user(session, "mia", Role.MARKETING_OPS)
    try:
        yield built
    finally:
        engine.dispose()


def new(**fields) -> tickets.NewTicket:
    return tickets.NewTicket(**{"category": "complaint", "team": "desk", "subject": "x", **fields})


def test_the_first_matching_sla_is_pinned_with_its_zone_and_calendar(factory) -> None:
    reported = NOW - dt.timedelta(hours=20)
    with session_scope(factory) as session:
        row, inp, created = tickets.open_ticket(
            session, SAM, new(id="T1", branch="XJ01", reported_at=reported), NOW
        )
        assert created and (row.sla, row.ruleset_version, row.timezone) == (
            "complaint",
            3,
            "Asia/Urumqi",
        )
        assert inp.sla.name == "complaint" and inp.rule.version == 3
        assert inp.calendar.timezone == "Asia/Urumqi" and 2026 in inp.calendar.years
        assert dt.date(2026, 10, 1) in inp.calendar.holidays
        engine = SlaEngine(inp)
        engine.start(NOW)
        assert engine.state.started_at == reported  # retroactive start from reported_at
        _, other, _ = tickets.open_ticket(
            session, SAM, new(id="T2", category="inquiry", customer_id="C1"), NOW
        )
        assert other.sla.name == "inquiry" and other.calendar.timezone == "Asia/Hong_Kong"
        none, nothing, _ = tickets.open_ticket(session, SAM, new(id="T3", category="praise"), NOW)
        assert nothing is None and none.sla is None and none.workflow_id is None
        # No branch on the ticket: its customer's branch decides the zone.
        session.add(Customer(
            id="C2", name="y", kind="retail", status="active", tier="a", level=1,
            locale="zh_CN", timezone="Asia/Hong_Kong", branch="XJ01", total_assets=0, balance=0,
            credit_limit=0, balance_growth_90d=0.0,
        ))  # fmt: skip
        session.flush()
        walk_in, _, _ = tickets.open_ticket(session, SAM, new(id="T4", customer_id="C2"), NOW)
        assert walk_in.sla == "complaint" and walk_in.timezone == "Asia/Urumqi"


def test_a_ticket_without_a_known_zone_counts_in_the_rules_fixed_zone(factory) -> None:
    with session_scope(factory) as session:
        add_active_version(session, dsl.compile_source(ZONES, "zones.rules").plan, ZONES)
    cases = {
        "Z1": new(id="Z1", category="card", branch="ZZ99"),  # a branch with no zone on record
        "Z2": new(id="Z2", category="card", customer_id="C1"),  # nor a branch of its customer
        "Z3": new(id="Z3", category="fraud", customer_id="C404"),  # a customer not on file
        "Z4": new(id="Z4", category="fraud"),  # no customer at all
        "Z5": new(id="Z5", category="fraud", customer_id="C1"),  # the customer's own zone
        "Z6": new(id="Z6", branch="ZZ99"),  # `complaint` has no fixed line: the ruleset's zone
    }
    with session_scope(factory) as session:
        opened = {key: tickets.open_ticket(session, SAM, t, NOW)[:2] for key, t in cases.items()}
        zones = {key: row.timezone for key, (row, _) in opened.items()}
        assert all(inp.calendar.timezone == row.timezone for row, inp in opened.values())
        engine = SlaEngine(opened["Z1"][1])
    engine.start(NOW)
    # 07:00 in Urumqi: its clock counts from 09:00 there, two hours later than in Shanghai.
    [first] = engine.view(NOW).clocks
    assert first.due_at == dt.datetime(2026, 11, 30, 5, 0, tzinfo=dt.UTC)
    assert zones == {
        "Z1": "Asia/Urumqi",
        "Z2": "Asia/Urumqi",
        "Z3": "Asia/Urumqi",
        "Z4": "Asia/Urumqi",
        "Z5": "Asia/Hong_Kong",
        "Z6": "Asia/Shanghai",
    }


def test_opening_again_is_the_same_ticket(factory) -> None:
    with session_scope(factory) as session:
        tickets.open_ticket(session, SAM, new(id="T1"), NOW)
    with session_scope(factory) as session:
        row, inp, created = tickets.open_ticket(session, SAM, new(id="T1"), NOW)
        assert not created and inp is not None and row.workflow_id == "ticket:T1"
        with pytest.raises(ConflictError):
            tickets.open_ticket(session, SAM, new(id="T1", team="other"), NOW)
        with pytest.raises(InvalidError):
            tickets.open_ticket(
                session, SAM, new(id="T9", assignee="eve", named_employee="eve"), NOW
            )
        count = session.scalar(
            sa.select(sa.func.count()).where(AuditEntry.action == "ticket.created")
        )
        assert count == 1


def test_tickets_without_an_sla_follow_the_same_rules(factory) -> None:
    with session_scope(factory) as session:
        row, _, _ = tickets.open_ticket(
            session, SAM, new(id="P1", category="praise", named_employee="eve"), NOW
        )
        for name, extra in (
            ("acknowledge", {}),
            ("wait_on_customer", {}),
            ("resume", {}),
            ("escalate", {}),
            ("resolve", {}),
        ):
            action = tickets.action_for(session, SAM, name, extra)
            tickets.act_without_sla(session, row, action, NOW)
        assert (row.status, row.assignee, row.priority) == ("resolved", "sam", "high")
        assert row.first_response_at == NOW and row.resolved_at == NOW
        with pytest.raises(ConflictError):
            tickets.act_without_sla(
                session, row, tickets.action_for(session, SAM, "resume", {}), NOW
            )
        tickets.act_without_sla(session, row, tickets.action_for(session, SAM, "reopen", {}), NOW)
        bad = tickets.action_for(session, SAM, "reassign", {"assignee": "eve"})
        with pytest.raises(ConflictError, match="names"):
            tickets.act_without_sla(session, row, bad, NOW)
        for approver in (None, "mia", "nobody"):  # missing, not an approving role, unknown
            with pytest.raises(InvalidError):
                tickets.action_for(session, SAM, "extend", {"approver": approver})
        assert tickets.action_for(session, SAM, "extend", {"approver": "cora"}).approver == "cora"
        actions = session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.subject_id == "P1")
            .order_by(AuditEntry.seq)
        ).all()
        assert (
            actions[0] == "ticket.created" and actions[-1] == "ticket.reopen" and len(actions) == 7
        )


def _record(inp, seq: int, at: dt.datetime, engine: SlaEngine, **extra) -> TicketRecord:
    return TicketRecord(
        ticket_id=inp.ticket.id,
        workflow_id=f"ticket:{inp.ticket.id}",
        rule=inp.rule,
        seq=seq,
        at=at,
        actor="system",
        action="ticket.test",
        state=engine.view(at),
        **extra,
    )


def test_workflow_records_are_idempotent_and_feed_the_queue(factory) -> None:
    with session_scope(factory) as session:
        _, first, _ = tickets.open_ticket(session, SAM, new(id="Q1", team="a"), NOW)
        _, second, _ = tickets.open_ticket(session, SAM, new(id="Q2", team="b"), NOW)
    engines = {}
    for inp in (first, second):
        engines[inp.ticket.id] = engine = SlaEngine(inp)
        engine.start(NOW)
    engines["Q2"].apply(TicketAction(action="wait_on_customer", actor="sam"), NOW)
    escalation = EscalationRecord(
        key="0:first_response:0:0",
        clock="first_response",
        trigger="on_breach",
        cycle=0,
        action="notify",
        recipient="role:team_lead",
        at=NOW,
    )
    with session_scope(factory) as session:
        record = _record(first, 1, NOW, engines["Q1"], escalations=[escalation])
        assert tickets_rows.apply(session, record)
        assert not tickets_rows.apply(session, record)  # a retried activity: nothing twice
        assert tickets_rows.apply(session, _record(second, 1, NOW, engines["Q2"]))
    with session_scope(factory) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(TicketEscalation)) == 1
        assert session.get(Ticket, "Q2").status == "waiting_on_customer"
        soon = tickets_queue.list_tickets(session, now=NOW, breaching_within=dt.timedelta(hours=3))
        assert [t.id for t in soon] == ["Q1"]  # Q2 is paused: it is not breaching
        assert (
            tickets_queue.list_tickets(session, now=NOW, breaching_within=dt.timedelta(minutes=30))
            == []
        )
        late = tickets_queue.list_tickets(session, now=NOW + dt.timedelta(hours=3), breached=True)
        assert [t.id for t in late] == ["Q1"]
        assert [t.id for t in tickets_queue.list_tickets(session, now=NOW, team="b")] == ["Q2"]
        everything = tickets_queue.list_tickets(session, now=NOW)
        assert [t.id for t in everything] == ["Q1", "Q2"]  # the running clock due first
        recs = tickets_queue.records(session, ["Q1"])["Q1"]
        assert {c.clock for c in recs["clocks"]} == {"first_response", "resolution"}
        assert [e.recipient for e in recs["escalations"]] == ["role:team_lead"]
