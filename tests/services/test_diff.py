"""`services.diff`: the pure semantic diff of two plans, and audience counts on a seeded
database (SQLite and PostgreSQL) through `diff_versions`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

import dsl
from services import registry
from services.actor import Actor
from services.diff import audience_changes, diff_versions, semantic_diff, text_diff
from services.errors import NotFoundError
from store.customer import Consent, ConsentChannel, ConsentPurpose, Customer, CustomerKind

HEADER = """ruleset demo_diff
  timezone "Asia/Shanghai"
  calendar CN
"""
BIRTHDAY = """
campaign birthday
  audience customers where customer.birthday is today
  schedule daily at 09:00
  send sms "birthday_sms"
"""
RICH = """
campaign rich
  audience customers where customer.total_assets >= {floor}
  schedule weekly on monday at 10:00
  send sms "rich_sms"
"""
JOURNEY = """
journey big_transfer
  on event transfer.completed where event.amount >= {amount}
  wait 1 day
  send push "mortgage_preapproval"
"""
LEAD = """
lead web
  applies to lead where lead.source == "website"
  assign round_robin in team "{team}"
  first_contact within 24 hours
"""
SLA = """
sla complaint
  applies to ticket where ticket.category == "complaint"
  hours business 09:00 to 18:00
  target normal: first_response {hours} hours, resolution 5 business days
"""


def source(*, floor=50_000, amount=200_000, team="rm", hours=8, birthday=True, sla=True) -> str:
    parts = [HEADER, RICH.format(floor=floor), JOURNEY.format(amount=amount)]
    parts += [LEAD.format(team=team)]
    parts += [BIRTHDAY] if birthday else []
    parts += [SLA.format(hours=hours)] if sla else []
    return "".join(parts)


def plan(text: str):
    return dsl.compile_source(text, "demo_diff.rules").plan


def test_identical_plans_have_no_semantic_changes() -> None:
    diff = semantic_diff(plan(source()), plan(source() + "# a comment only\n"))
    assert diff == {"ruleset": [], "added": [], "removed": [], "changed": []}


def test_added_removed_and_changed_parts() -> None:
    before = plan(source(sla=False))
    after = plan(source(floor=80_000, amount=300_000, team="sme", birthday=False))
    diff = semantic_diff(before, after)
    assert diff["added"] == [{"kind": "sla", "name": "complaint"}]
    assert diff["removed"] == [{"kind": "campaign", "name": "birthday"}]
    assert diff["changed"] == [
        {"kind": "campaign", "name": "rich", "parts": ["audience"]},
        {"kind": "journey", "name": "big_transfer", "parts": ["trigger"]},
        {"kind": "lead", "name": "web", "parts": ["assignment"]},
    ]
    assert audience_changes(before, after) == ["rich", "birthday"]


def test_sla_targets_and_ruleset_settings() -> None:
    retitled = source(hours=4).replace("calendar CN\n", 'calendar CN\n  title "新"\n', 1)
    diff = semantic_diff(plan(source()), plan(retitled))
    assert diff["ruleset"] == ["title"]
    assert diff["changed"] == [{"kind": "sla", "name": "complaint", "parts": ["targets"]}]


def test_text_diff_is_unified() -> None:
    text = text_diff("a\nb", "a\nc\n", "x v1", "x v2")
    assert text.splitlines() == ["--- x v1", "+++ x v2", "@@ -1,2 +1,2 @@", " a", "-b", "+c"]


NOW = datetime(2024, 2, 29, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, a leap day


def _customers() -> list[Customer]:
    rows = []
    for i, (assets, born) in enumerate([
        (10_000, date(1992, 2, 29)), (60_000, date(1985, 3, 1)), (90_000, None),
        (120_000, date(2000, 2, 29)), (40_000, date(1970, 6, 1)),
    ]):  # fmt: skip
        rows.append(Customer(
            id=f"C{i:04d}", name="测试", kind=CustomerKind.RETAIL, status="active", tier="mass",
            level=1, locale="zh_CN", timezone="Asia/Shanghai", total_assets=Decimal(assets),
            balance=Decimal(0), credit_limit=Decimal(0), balance_growth_90d=0.0, birthday=born,
        ))  # fmt: skip
    return rows


@pytest.fixture
def versions(session, ops: Actor) -> None:
    session.add_all(_customers())
    session.flush()
    session.add(Consent(customer_id="C0001", channel=ConsentChannel.SMS,
                        purpose=ConsentPurpose.MARKETING, granted=True, source="branch",
                        granted_at=NOW - timedelta(days=3)))  # fmt: skip
    registry.create_version(session, ops, "demo_diff", source(sla=False))
    registry.create_version(session, ops, "demo_diff", source(floor=80_000, birthday=False))
    session.commit()


def test_diff_versions_counts_audiences(session, versions) -> None:
    result = diff_versions(session, "demo_diff", 2, 1, now=NOW)
    assert result["version"] == 2 and result["against"] == 1
    assert "-  audience customers where customer.total_assets >= 50000" in result["text_diff"]
    assert result["semantic"]["added"] == [{"kind": "sla", "name": "complaint"}]
    # rich: >= 50 000 selects C0001, C0002, C0003; >= 80 000 only C0002, C0003.
    # birthday on 29 Feb 2024 (a leap year): only the two customers born on 29 Feb.
    assert result["audiences"] == [
        {"campaign": "rich", "before": 3, "after": 2},
        {"campaign": "birthday", "before": 2, "after": None},
    ]


def test_diff_versions_birthday_on_28_feb_of_common_year(session, versions) -> None:
    # 28 Feb 2023 in Shanghai: customers born on 29 Feb celebrate on 28 Feb in common years.
    result = diff_versions(session, "demo_diff", 1, 2, now=datetime(2023, 2, 27, 20, tzinfo=UTC))
    assert {"campaign": "birthday", "before": None, "after": 2} in result["audiences"]


def test_diff_versions_unknown_version(session, versions) -> None:
    with pytest.raises(NotFoundError):
        diff_versions(session, "demo_diff", 3, 1)


def test_untranslatable_audience_does_not_hide_the_diff(session, versions, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise ValueError("no column for customer.x")

    monkeypatch.setattr("services.diff.campaign_clause", refuse)
    result = diff_versions(session, "demo_diff", 2, 1, now=NOW)
    assert result["semantic"]["added"] == [{"kind": "sla", "name": "complaint"}]
    assert result["audiences"][0] == {
        "campaign": "rich", "before": None, "after": None, "error": "no column for customer.x"
    }  # fmt: skip
