"""Inbound SMS opt-out: "TD" withdraws marketing consent (audited) and the gate honours it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from config.settings import Settings
from delivery.deliverer import Deliverer
from delivery.testing import RecordingGateway
from dsl.plan import SendStep
from runtime.contracts import RuleRef
from store.audit import AuditEntry
from store.customer import Consent, Customer
from store.session import make_engine, make_session_factory, session_scope

URL = "/v1/inbound/sms"
NOON = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def factory(api_db_url):
    engine = make_engine(api_db_url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        for cid, phone in (("C1", "13800000001"), ("C2", "13800000001"), ("C3", "13900000003")):
            session.add(Customer(
                id=cid, name="张三", kind="retail", status="active", tier="mass", level=1,
                locale="zh_CN", timezone="Asia/Shanghai", total_assets=Decimal(1),
                balance=Decimal(1), credit_limit=Decimal(0), balance_growth_90d=0.0,
                phone=phone))  # fmt: skip
            for channel in ("sms", "all"):
                session.add(Consent(customer_id=cid, channel=channel, purpose="marketing",
                                    granted=True, source="branch", granted_at=NOON))  # fmt: skip
    yield factory
    engine.dispose()


def post(client, auth, user="ada", **body):
    return client.post(URL, json=body, headers=auth(user))


@pytest.mark.parametrize("text", ["TD", " td ", "退订", "ＴＤ", "Stop!", "【退订】"])
def test_opt_out_keywords_withdraw_marketing_consent(client, auth, factory, text):
    response = post(client, auth, **{"from": "+86 138 0000 0001", "text": text, "id": "in-1"})
    assert response.status_code == 200, response.text
    assert response.json() == {"opt_out": True, "customers": 2}
    with factory() as session:
        rows = session.execute(sa.select(Consent.customer_id, Consent.granted, Consent.source)
                               .where(Consent.channel == "all")
                               .order_by(Consent.customer_id)).all()  # fmt: skip
        assert [tuple(r) for r in rows] == [
            ("C1", False, "inbound_sms"),
            ("C2", False, "inbound_sms"),
            ("C3", True, "branch"),
        ]
        audits = session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "consent.withdrawn")).all()  # fmt: skip
        assert sorted(a.subject_id for a in audits) == ["C1", "C2"]
        assert all("13800000001" not in str(a.detail) for a in audits)


@pytest.mark.parametrize("text", ["hello", "TD please call me", "STOPPED"])
def test_other_replies_change_nothing(client, auth, factory, text):
    response = post(client, auth, **{"from": "13800000001", "text": text})
    assert response.json() == {"opt_out": False, "customers": 0}
    with factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Consent)
                              .where(Consent.granted.is_(False))) == 0  # fmt: skip


def test_unknown_number_opts_out_no_one(client, auth, factory):
    assert post(client, auth, **{"from": "13700000000", "text": "TD"}).json() == {
        "opt_out": True, "customers": 0}  # fmt: skip


def test_every_later_marketing_send_is_suppressed_but_service_goes(client, auth, factory):
    with RecordingGateway(token="t") as gateway:
        settings = Settings(delivery={"sms_gateway_url": gateway.url, "gateway_token": "t"})
        deliverer = Deliverer.from_settings(settings, factory)
        assert post(client, auth, **{"from": "13800000001", "text": "退订"}).status_code == 200
        for n, ruleset in enumerate(("retail", "rural")):  # two different running campaigns
            rule = RuleRef(ruleset=ruleset, version=1, plan_hash="x", rule="promo")
            step = SendStep(step="a1", channel="sms", template="birthday_sms")
            report = deliverer.send(rule=rule, root_run_id=f"campaign:{ruleset}:promo:{n}",
                                    step=step, customer_ids=["C1", "C2", "C3"], policy=None,
                                    caps=[], now=NOON)  # fmt: skip
            assert (report.sent, report.suppressed) == (1, 2)
        service = RuleRef(ruleset="svc", version=1, plan_hash="x", rule="due", category="service")
        step = SendStep(step="a1", channel="sms", template="harvest_loan_due_sms")
        report = deliverer.send(rule=service, root_run_id="campaign:svc:due:1", step=step,
                                customer_ids=["C1"], policy=None, caps=[], now=NOON)  # fmt: skip
        assert report.sent == 1
        assert [m["to"] for m in gateway.received] == ["13900000003"] * 2 + ["13800000001"]
        deliverer.channels.close()
    contacts = client.get("/v1/customers/C1/contacts", headers=auth("sam")).json()["items"]
    assert [(c["ruleset"], c["decision"], c["reason"]) for c in contacts] == [
        ("svc", "sent", None), ("rural", "suppressed", "opted_out"),
        ("retail", "suppressed", "opted_out")]  # fmt: skip
    assert contacts[1]["detail"] == "inbound_sms"


@pytest.mark.parametrize(("user", "status"), [("mia", 403), ("sam", 403), ("cora", 403)])
def test_only_the_gateway_integration_may_post(client, auth, user, status):
    assert post(client, auth, user, **{"from": "13800000001", "text": "TD"}).status_code == status


@pytest.mark.parametrize("body", [{"text": "TD"}, {"from": "1", "text": "TD"},
                                  {"from": "13800000001", "text": "TD", "extra": 1}])  # fmt: skip
def test_malformed_bodies_are_422(client, auth, body):
    assert post(client, auth, **body).status_code == 422
