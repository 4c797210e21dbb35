"""Models round-trip on both databases: aware UTC datetimes, exact money, JSON, constraints."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from store.models import (
    Base,
    Consent,
    ConsentChannel,
    ConsentPurpose,
    Customer,
    CustomerKind,
    Event,
    Holding,
    Message,
    Ruleset,
    RulesetVersion,
    VersionStatus,
)

SHANGHAI = timezone(timedelta(hours=8))


def make_customer(id: str = "C0001", **overrides) -> Customer:
    values = dict(
        id=id, name="王小明", kind=CustomerKind.RETAIL, status="active", tier="affluent", level=3,
        locale="zh_CN", timezone="Asia/Shanghai", total_assets=Decimal("123456789012.34"),
        balance=Decimal("0.10"), credit_limit=Decimal("50000.00"), balance_growth_90d=0.25,
    )  # fmt: skip
    values.update(overrides)
    return Customer(**values)


def test_customer_round_trips(session: Session) -> None:
    seen = datetime(2024, 3, 1, 9, 30, 15, 123456, tzinfo=SHANGHAI)
    session.add(
        make_customer(
            birthday=date(1992, 2, 29),
            last_transaction_at=seen,
            attributes={"land_contract_mu": 12.5, "标签": ["高净值"], "nested": {"ok": True}},
        )
    )
    session.commit()
    session.expunge_all()

    customer = session.get(Customer, "C0001")
    assert customer is not None
    assert customer.last_transaction_at == seen
    assert customer.last_transaction_at.tzinfo is UTC
    assert customer.last_transaction_at.hour == 1  # 09:30 in Shanghai is 01:30 UTC
    assert customer.total_assets == Decimal("123456789012.34")
    assert isinstance(customer.balance, Decimal) and str(customer.balance) == "0.10"
    assert customer.birthday == date(1992, 2, 29)
    assert customer.attributes["标签"] == ["高净值"]
    assert customer.attributes["nested"] == {"ok": True}
    assert customer.kind is CustomerKind.RETAIL
    assert customer.do_not_disturb is False and customer.credit_score is None
    assert customer.created_at.tzinfo is UTC


def test_aware_datetimes_compare_in_sql(session: Session) -> None:
    instant = datetime(2024, 3, 1, 1, 30, tzinfo=UTC)
    session.add(make_customer(last_transaction_at=instant))
    session.commit()
    # The same instant written in another zone must compare equal in the database.
    same = instant.astimezone(SHANGHAI)
    later = same + timedelta(seconds=1)
    query = sa.select(sa.func.count()).select_from(Customer)
    assert session.scalar(query.where(Customer.last_transaction_at == same)) == 1
    assert session.scalar(query.where(Customer.last_transaction_at < later)) == 1
    assert session.scalar(query.where(Customer.last_transaction_at > same)) == 0


def test_naive_datetimes_are_refused(session: Session) -> None:
    session.add(make_customer(last_transaction_at=datetime(2024, 3, 1, 9, 30)))
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        session.flush()


def test_relationships_raise_instead_of_lazy_loading(session: Session) -> None:
    session.add(make_customer())
    session.add(Holding(customer_id="C0001", product="mortgage"))
    session.commit()
    session.expunge_all()
    customer = session.get(Customer, "C0001")
    with pytest.raises(sa.exc.InvalidRequestError):
        _ = customer.holdings
    loaded = session.scalars(
        sa.select(Customer)
        .options(selectinload(Customer.holdings))
        .execution_options(populate_existing=True)
    ).one()
    assert [holding.product for holding in loaded.holdings] == ["mortgage"]


def test_every_relationship_is_lazy_raise() -> None:
    for mapper in Base.registry.mappers:
        for relationship in mapper.relationships:
            assert relationship.lazy == "raise", relationship


def test_deleting_a_customer_deletes_holdings_and_consents(session: Session) -> None:
    session.add(make_customer())
    session.add(Holding(customer_id="C0001", product="card"))
    session.add(consent())
    session.commit()
    session.execute(sa.delete(Customer).where(Customer.id == "C0001"))
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(Holding)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(Consent)) == 0


def test_foreign_keys_are_enforced(session: Session) -> None:
    session.add(Holding(customer_id="nobody", product="card"))
    with pytest.raises(sa.exc.IntegrityError):
        session.commit()


def consent(**overrides) -> Consent:
    values = dict(
        customer_id="C0001", channel=ConsentChannel.SMS, purpose=ConsentPurpose.MARKETING,
        granted=True, source="branch", granted_at=datetime(2024, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    return Consent(**{**values, **overrides})


def message(**overrides) -> Message:
    values = dict(
        idempotency_key="wf-1/send/C0001", workflow_id="wf-1", step="send",
        customer_id="C0001", channel="sms", template="birthday_sms",
    )  # fmt: skip
    return Message(**{**values, **overrides})


def event(**overrides) -> Event:
    values = dict(
        type="transfer.completed", customer_id="C0001", idempotency_key="core-42",
        occurred_at=datetime(2024, 1, 1, tzinfo=UTC), payload={"amount": "250000.00"},
    )  # fmt: skip
    return Event(**{**values, **overrides})


DUPLICATES = {
    "message idempotency key": lambda: [message(), message(workflow_id="wf-2")],
    "event idempotency key": lambda: [event(), event(type="app.login")],
    "holding per product": lambda: [Holding(customer_id="C0001", product=p) for p in "xx"],
    "consent per channel and purpose": lambda: [consent(), consent(granted=False)],
}


@pytest.mark.parametrize("case", DUPLICATES)
def test_unique_constraints_hold(session: Session, case: str) -> None:
    session.add(make_customer())
    session.commit()
    first, second = DUPLICATES[case]()
    session.add(first)
    session.commit()
    session.add(second)
    with pytest.raises(sa.exc.IntegrityError):
        session.commit()


def test_ruleset_versions_are_unique_per_ruleset(session: Session) -> None:
    ruleset = Ruleset(name="retail_engagement")
    session.add(ruleset)
    session.flush()
    session.add(RulesetVersion(ruleset_id=ruleset.id, version=1, source="", author="ops"))
    session.commit()
    assert session.scalars(sa.select(RulesetVersion)).one().status is VersionStatus.DRAFT
    session.add(RulesetVersion(ruleset_id=ruleset.id, version=1, source="", author="ops"))
    with pytest.raises(sa.exc.IntegrityError):
        session.commit()


def test_database_check_constraints_refuse_unknown_values(session: Session) -> None:
    session.add(make_customer())
    session.commit()
    # An untyped table bypasses the model's enum validation, so the database itself must refuse.
    raw = sa.table("consent", *(sa.column(column.name) for column in Consent.__table__.c))
    row = {"customer_id": "C0001", "channel": "fax", "purpose": "marketing", "granted": True,
           "source": "branch", "granted_at": datetime(2024, 1, 1)}  # fmt: skip
    session.execute(sa.insert(raw).values(row | {"channel": "sms"}))
    with pytest.raises(sa.exc.IntegrityError):
        session.execute(sa.insert(raw).values(row))
