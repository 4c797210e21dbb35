"""Demo data: deterministic for a seed, consistent with itself, accepted by both databases,
reachable by the example rulesets, and driven by `rulebank demo seed`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from cli.main import app
from config.settings import get_settings
from dsl.compiler import compile_source
from services import demo
from services.diff import audience_size
from store.customer import Consent, Customer, Holding
from store.event import Event

TODAY = date(2024, 2, 29)
RETAIL = Path(__file__).resolve().parents[2] / "rulesets" / "retail_engagement.rules"


def rows(seed: int, count: int = 300, today: date = TODAY) -> list[tuple]:
    data = demo.DemoData(seed, today)
    return [data.customer(n) for n in range(1, count + 1)]


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    assert rows(7) == rows(7)
    assert [r[0]["name"] for r in rows(7)] != [r[0]["name"] for r in rows(8)]


def test_rows_are_consistent() -> None:
    generated = rows(1, 4000)
    customers = [r[0] for r in generated]
    for c in customers:
        floor = {"mass": 0, "affluent": 500_000, "private": 6_000_000}[c["tier"]]
        assert c["total_assets"] >= floor and c["balance"] <= c["total_assets"]
        assert c["id"].startswith("DM") and 1 <= c["level"] <= 5
        assert (c["birthday"] is None) == (c["kind"] == "corporate")
        assert c["timezone"] == (
            "Asia/Urumqi" if c["branch"][:2] in ("UR", "YL") else "Asia/Shanghai"
        )
    born = [c["birthday"] for c in customers if c["birthday"]]
    assert sum((b.month, b.day) == (2, 29) for b in born) >= 10  # leap-day and today's birthdays
    assert {"dormant", "closed", "active"} == {c["status"] for c in customers}
    assert any(c["attributes"].get("land_contract_mu") for c in customers)
    consents = [consent for r in generated for consent in r[2]]
    assert any(not c["granted"] for c in consents) and all(c["evidence"] for c in consents)
    products = {h["product"] for r in generated for h in r[1]}
    assert {"mortgage", "credit_card", "wealth", "deposit", "agri_loan"} <= products


def test_seed_reset_and_audiences(session_factory) -> None:
    done = []
    totals = demo.seed_customers(session_factory, 600, seed=3, today=TODAY, batch_size=250,
                                 on_batch=done.append)  # fmt: skip
    assert done == [250, 250, 100] and totals["customer"] == 600
    with session_factory() as session:
        counts = [session.scalar(sa.select(sa.func.count()).select_from(m))
                  for m in (Customer, Holding, Consent, Event)]  # fmt: skip
        assert counts == [totals[t] for t in ("customer", "holding", "consent", "event")]
        plan = compile_source(RETAIL.read_text("utf-8"), "retail_engagement.rules").plan
        now = datetime(2024, 2, 29, 4, tzinfo=UTC)
        assert audience_size(session, plan, "birthday_greeting", now) > 0
        assert audience_size(session, plan, "dormant_callback", now) > 0
    with session_factory.begin() as session:
        real = {
            "id": "C1",
            "name": "真实客户",
            "kind": "retail",
            "status": "active",
            "tier": "mass",
            "level": 1,
            "locale": "zh_CN",
            "timezone": "Asia/Shanghai",
            "total_assets": 0,
            "balance": 0,
            "credit_limit": 0,
            "balance_growth_90d": 0.0,
        }
        session.add(Customer(**real))
    with session_factory.begin() as session:
        demo.reset(session)
    with session_factory() as session:
        assert demo.existing(session) == 0
        assert session.scalars(sa.select(Customer.id)).all() == ["C1"]  # not a demo row
        assert session.scalar(sa.select(sa.func.count()).select_from(Consent)) == 0


def test_cli_seeds_once(migrated_url, monkeypatch) -> None:
    monkeypatch.setenv("RULEBANK_DATABASE_URL", migrated_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        args = ["demo", "seed", "--customers", "120", "--seed", "5", "--today", "2024-02-29"]
        first = runner.invoke(app, args)
        assert first.exit_code == 0, first.output
        assert "seeded 120 customer rows" in first.output
        again = runner.invoke(app, args)
        assert again.exit_code == 0 and "already present" in again.output
        assert runner.invoke(app, [*args, "--reset"]).exit_code == 0
    finally:
        get_settings.cache_clear()
