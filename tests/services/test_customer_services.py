"""Customer services on both databases: atomic import batches (a failing batch leaves nothing
behind, the others commit), input the database could not store refused up front, masking,
and consent rules enforced by the service whatever the caller."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from services import customer_import, customers
from services.actor import Actor
from services.errors import ForbiddenError, InvalidError, NotFoundError
from store import audit
from store.audit import AuditEntry
from store.customer import Customer, Holding
from store.user import Role


def row(i: int, **extra) -> dict:
    return {"id": f"C{i:04d}", "name": "测试客户", "kind": "retail", **extra}


def test_a_failing_batch_rolls_back_alone(session, ops, monkeypatch) -> None:
    real = customer_import._write

    def flaky(session_, rows):
        real(session_, rows)  # written, then the batch fails: the savepoint must undo it
        if any(r.id == "C0003" for r in rows):
            raise IntegrityError("INSERT", {}, ValueError("simulated"))

    monkeypatch.setattr(customer_import, "_write", flaky)
    records = [(i, row(i, holdings=["deposit"])) for i in range(1, 6)]
    report = customer_import.import_rows(session, ops, records, batch_size=2)
    session.commit()
    assert report["accepted"] == 3
    assert [(r["row"], r["errors"][0][:20]) for r in report["rejected"]] == [
        (3, "batch rolled back: t"), (4, "batch rolled back: t")
    ]  # fmt: skip
    assert session.scalars(sa.select(Customer.id).order_by(Customer.id)).all() == [
        "C0001", "C0002", "C0005"
    ]  # fmt: skip
    assert session.scalar(sa.select(sa.func.count()).select_from(Holding)) == 3
    assert audit.verify(session).ok


def test_values_the_database_cannot_hold_are_row_errors(session, ops) -> None:
    records = [
        (1, row(1, name="张\x00三")),
        (2, row(2, last_transaction_at="9999-12-31T23:00:00-10:00")),
        (3, row(3, attributes={"Bad-Key": 1})),
        (4, row(4, total_assets="1.005")),
        (5, row(5, holdings=["deposit", "deposit"])),
        (6, "not valid JSON"),
    ]  # fmt: skip
    report = customer_import.import_rows(session, ops, records)
    assert report["accepted"] == 0
    errors = {r["row"]: r["errors"] for r in report["rejected"]}
    assert errors[1] == ["record: Value error, text must not contain NUL characters"]
    assert errors[2] == ["last_transaction_at: Value error, out of range"]
    assert errors[3][0].startswith("attributes.Bad-Key.[key]: bad format")
    assert errors[4][0].startswith("total_assets: Decimal input should have no more than 2")
    assert errors[5] == ["holdings: a product is listed twice"]
    assert errors[6] == ["not valid JSON"]


def test_only_importers_import(session) -> None:
    with pytest.raises(ForbiddenError):
        customer_import.import_rows(session, Actor("cora", Role.COMPLIANCE), [])


@pytest.mark.parametrize(("value", "masked"), [
    ("13812345678", "138****5678"), ("+8613812345678", "+86*******5678"), ("12345", "***45"),
])  # fmt: skip
def test_mask_phone(value: str, masked: str) -> None:
    assert customers.mask_phone(value) == masked


def test_mask_name_and_email() -> None:
    assert [customers.mask_name(n) for n in ("张三", "欧阳娜娜", "Amy Chen")] == [
        "张*", "欧***", "A** ****"
    ]  # fmt: skip
    assert customers.mask_email("zhang.san@example.cn") == "z***@example.cn"


def test_consent_rules_in_the_service(session, ops) -> None:
    customer_import.import_rows(session, ops, [(1, row(1))])
    desk = Actor("sam", Role.SERVICE_DESK)
    update = customers.ConsentUpdate(granted=True, source="branch", evidence="F-1")
    with pytest.raises(ForbiddenError):
        customers.set_consent(session, ops, "C0001", "sms", "marketing", update)
    with pytest.raises(NotFoundError):
        customers.set_consent(session, desk, "C9999", "sms", "marketing", update)
    with pytest.raises(InvalidError):
        customers.set_consent(session, desk, "C0001", "sms", "gossip", update)
    now = datetime(2024, 6, 1, tzinfo=UTC)
    result = customers.set_consent(session, desk, "C0001", "all", "marketing", update, now=now)
    assert (result["granted"], result["granted_at"]) == (True, now)
    entry = session.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert (entry.actor, entry.action, entry.subject_id) == ("sam", "consent.granted", "C0001")
    assert entry.detail["channel"] == "all" and entry.detail["previous"] is None
