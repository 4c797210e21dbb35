"""Leads without Temporal, on SQLite and PostgreSQL: matching, assignment, pool rules, access.

Assignment: round robin keeps its turn per region in the database and falls back to the whole
team for a region without members; capacity caps and earlier owners are skipped; `by_load` and
`by_region` pick the least loaded member. Pool: the previous owner's cooldown (with its exact
end), the daily claim limit, the hold cap, team membership. Access: an RM's queries return only
their own leads, their team's pool and their reports' leads. The clock: `otherwise` replaces
the ladder for a missed first contact; a release date already past is ignored.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

import dsl
from calendars import get_calendar
from services import leads, leads_ops
from services.actor import Actor
from services.errors import ConflictError, InvalidError, NotFoundError
from services.leads_assign import pick_owner
from services.leads_clock import Timing, ladder, ownership_end
from services.leads_ops import Act
from services.leads_pool import refusal
from services.leads_rm import put_rm, seed_demo_profiles
from store.user import Role
from store.work import Lead
from tests.workflows.lead_support import corporate
from tests.workflows.registry_support import add_active_version

REPO = Path(__file__).resolve().parents[2]
PLAN = dsl.compile_source((REPO / "rulesets" / "corporate_leads.rules").read_text(), "c.rules").plan
CORPORATE, SME = PLAN.leads
CN, TZ = get_calendar("CN"), "Asia/Shanghai"
TIMING = Timing(CORPORATE, CN, TZ)
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Shanghai
INTAKE = Actor("intake", Role.ADMIN)


def activate(session: Session) -> None:
    add_active_version(session, PLAN, source="")
    session.flush()


def lead_fields(lead_id: str, **fields) -> dict:
    """A website corporate lead (tests/workflows/lead_support.py) of a small trading company."""
    return corporate(lead_id, name="某某贸易", expected_value=Decimal("1000.00"), **fields)


def new_lead(session: Session, lead_id: str, **fields) -> Lead:
    lead, _, created = leads.create_lead(session, INTAKE, lead_fields(lead_id, **fields), T0)
    assert created
    return lead


def hold(session: Session, lead: Lead, owner: str, key: str, at: datetime = T0) -> None:
    leads_ops.give(session, lead, owner, "assigned", Act(key, "system", at), TIMING)


@pytest.fixture
def corporate_team(session: Session) -> Session:
    activate(session)
    for name, region in {"ann": "EAST", "ben": "EAST", "cal": "EAST", "wes": "WEST"}.items():
        put_rm(session, name, team="corporate-rm", region=region, manager="max")
    return session


def test_a_new_lead_is_pinned_to_the_first_rule_that_applies(corporate_team: Session):
    lead = new_lead(corporate_team, "A1")
    sme = new_lead(corporate_team, "A2", source="branch_referral", kind="sme")
    assert (lead.rule, lead.team, lead.ruleset_version) == ("website_corporate", "corporate-rm", 1)
    assert (sme.rule, sme.team) == ("branch_referral_sme", "sme-rm")
    with pytest.raises(InvalidError, match=r"no active lead rule applies.*'fax'"):
        new_lead(corporate_team, "A3", source="fax")


def test_creating_the_same_lead_twice_is_one_lead(corporate_team: Session):
    new_lead(corporate_team, "A1")
    same = lead_fields("A1")
    lead, _, created = leads.create_lead(corporate_team, INTAKE, same, T0)
    assert (lead.id, created) == ("A1", False)
    with pytest.raises(ConflictError):
        leads.create_lead(corporate_team, INTAKE, {**same, "region": "WEST"}, T0)


def test_round_robin_takes_turns_in_the_lead_region_and_remembers_them(corporate_team: Session):
    picks = [
        pick_owner(corporate_team, new_lead(corporate_team, f"R{i}"), CORPORATE)[0]
        for i in range(4)
    ]
    assert picks == ["ann", "ben", "cal", "ann"]
    north = new_lead(corporate_team, "R9", region="NORTH")
    owner, reason = pick_owner(corporate_team, north, CORPORATE)
    assert owner == "ann" and "no member in region NORTH" in reason  # the whole team's own turn


def test_capacity_and_earlier_owners_are_skipped(corporate_team: Session):
    put_rm(corporate_team, "ann", team="corporate-rm", region="EAST", capacity=1)
    hold(corporate_team, new_lead(corporate_team, "F1"), "ann", "k1")
    lead = new_lead(corporate_team, "F2")
    assert pick_owner(corporate_team, lead, CORPORATE, exclude={"ben"})[0] == "cal"
    assert pick_owner(corporate_team, lead, CORPORATE, exclude={"ben", "cal"}) == (
        None,
        "no member of corporate-rm can take it",
    )


def test_by_load_and_by_region_pick_the_least_loaded(corporate_team: Session):
    for name in ("sid", "sue", "sal"):
        put_rm(corporate_team, name, team="sme-rm", region="EAST" if name != "sal" else "WEST")
    hold(corporate_team, new_lead(corporate_team, "B1"), "sid", "k1")
    lead = new_lead(corporate_team, "B2", source="branch_referral", kind="sme")
    assert pick_owner(corporate_team, lead, SME)[0] == "sal"  # by_load: sal and sue hold none
    by_region = SME.model_copy(update={"strategy": "by_region"})
    assert pick_owner(corporate_team, lead, by_region)[0] == "sue"  # EAST members only


def _pool(session: Session, lead: Lead, owner: str, at: datetime, key: str) -> None:
    hold(session, lead, owner, f"{key}-a", at - timedelta(hours=1))
    leads_ops.to_pool(session, lead, "released", Act(f"{key}-r", owner, at), None)


def test_the_previous_owner_is_refused_until_the_cooldown_ends(corporate_team: Session):
    lead = new_lead(corporate_team, "P1")
    _pool(corporate_team, lead, "ann", T0, "p1")
    found = refusal(
        corporate_team,
        lead,
        "claim",
        "ann",
        "sales",
        at=T0 + timedelta(days=13),
        timing=TIMING,
    )
    assert found is not None and found.code == "cooldown" and found.status == 409
    assert found.until == T0 + timedelta(weeks=2)
    assert "from 2026-12-15T10:00+08:00" in found.detail
    after = T0 + timedelta(weeks=2)
    assert refusal(corporate_team, lead, "claim", "ann", "sales", at=after, timing=TIMING) is None
    assert refusal(corporate_team, lead, "claim", "ben", "sales", at=T0, timing=TIMING) is None


def test_daily_claims_hold_cap_and_team_are_enforced(corporate_team: Session):
    spec = CORPORATE.model_copy(
        update={"pool": CORPORATE.pool.model_copy(update={"claims_per_day": 2, "hold_at_most": 3})}
    )
    timing = Timing(spec, CN, TZ)
    pooled = []
    for i in range(4):
        lead = new_lead(corporate_team, f"D{i}")
        _pool(corporate_team, lead, "wes", T0, f"d{i}")
        pooled.append(lead)
    for i, lead in enumerate(pooled[:2]):
        act = Act(f"c{i}", "ann", T0 + timedelta(hours=i))
        leads_ops.give(corporate_team, lead, "ann", "claimed", act, timing)

    def ask(user: str, at: datetime):
        return refusal(corporate_team, pooled[2], "claim", user, "sales", at=at, timing=timing)

    limit = ask("ann", T0 + timedelta(hours=3))
    assert limit is not None and limit.code == "claim_limit"
    assert limit.until == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # next Shanghai midnight
    hold(corporate_team, new_lead(corporate_team, "D9"), "ann", "k9")
    capped = ask("ann", T0 + timedelta(days=1))  # a new day, but ann holds 3 open leads
    assert capped is not None and capped.code == "hold_limit"
    put_rm(corporate_team, "sid", team="sme-rm")
    assert ask("sid", T0).code == "not_in_team"
    assert ask("nobody", T0).code == "not_an_rm"
    assert (
        refusal(corporate_team, pooled[0], "claim", "ben", "sales", at=T0, timing=timing).code
        == "not_in_pool"
    )


def test_an_rm_reads_only_their_leads_their_team_pool_and_their_reports(corporate_team: Session):
    put_rm(corporate_team, "max", team="corporate-rm", region="EAST")
    mine, bens, pool = (new_lead(corporate_team, i) for i in ("V1", "V2", "V3"))
    hold(corporate_team, mine, "ann", "v1")
    hold(corporate_team, bens, "ben", "v2")
    _pool(corporate_team, pool, "cal", T0, "v3")
    other_pool = new_lead(corporate_team, "V4", source="branch_referral", kind="sme")
    leads_ops.to_pool(corporate_team, other_pool, "returned", Act("v4", "system", T0), None)
    ann, max_ = Actor("ann", Role.SALES), Actor("max", Role.SALES)

    def ids(actor: Actor, scope: leads.Scope) -> list[str]:
        return sorted(lead.id for lead in leads.list_leads(corporate_team, actor, scope))

    assert ids(ann, "all") == ["V1", "V3"]
    assert (ids(ann, "mine"), ids(ann, "pool"), ids(ann, "team")) == (["V1"], ["V3"], ["V1"])
    assert ids(max_, "team") == ["V1", "V2"]  # the manager reads their reports' leads
    assert ids(Actor("cora", Role.COMPLIANCE), "pool") == ["V3", "V4"]
    assert ids(Actor("mia", Role.MARKETING_OPS), "all") == []
    with pytest.raises(NotFoundError):
        leads.get_lead(corporate_team, ann, "V2")
    assert leads.get_lead(corporate_team, ann, "V3").id == "V3"


def test_otherwise_replaces_the_ladder_and_a_past_release_date_is_ignored(session: Session):
    due = T0 + timedelta(hours=24)
    assert [(s.at, s.step) for s in ladder(CORPORATE, "first_contact", due, CN, TZ)] == [(due, -1)]
    follow = [(s.at, s.step) for s in ladder(CORPORATE, "follow_up", due, CN, TZ)]
    # Wednesday 10:00 + 1, 3, 5 business days (Thursday, the next Monday and Wednesday)
    assert follow == [(due + timedelta(days=d), i) for i, d in enumerate((1, 5, 7))]
    lead = Lead(id="X", customer_level=3, contract_end_on=date(2026, 9, 1))
    assert ownership_end(CORPORATE, lead, T0, CN, TZ) == T0 + timedelta(days=30)
    lead = Lead(id="Y", customer_level=1, contract_end_on=date(2026, 9, 30))
    # 2026-09-30 + 90 days = 2026-12-29, local midnight
    assert ownership_end(CORPORATE, lead, T0, CN, TZ) == datetime(2026, 12, 28, 16, tzinfo=UTC)
    lead = Lead(id="Z", customer_level=1, contract_end_on=date(2026, 8, 1))
    assert ownership_end(CORPORATE, lead, T0, CN, TZ) is None


def test_demo_profiles_seed_idempotently_and_take_demo_leads(session: Session):
    activate(session)
    assert seed_demo_profiles(session) == seed_demo_profiles(session) == 5
    lead = new_lead(session, "M1")
    assert pick_owner(session, lead, CORPORATE)[0] == "rm.liu"
    assert pick_owner(session, new_lead(session, "M2", region="NORTH"), CORPORATE)[0] == "rm.sun"
