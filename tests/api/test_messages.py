"""The outbox views: failed messages listed with their error; a customer's contact history."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from config.settings import Settings
from delivery.deliverer import Deliverer
from delivery.testing import RecordingGateway
from dsl.plan import PolicySpec, SendStep
from runtime.contracts import RuleRef
from store.customer import Consent, Customer
from store.session import make_engine, make_session_factory, session_scope

NIGHT = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
NOON = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
RULE = RuleRef(ruleset="retail", version=4, plan_hash="f" * 64, rule="promo")
STEP = SendStep(step="a1", channel="sms", template="birthday_sms")
POLICY = PolicySpec(name="marketing", quiet_start="21:00", quiet_end="08:30")


@pytest.fixture
def delivered(api_db_url):
    """C1 sent, C2 rejected by the gateway, C3 without consent; then C1 deferred at night."""
    engine = make_engine(api_db_url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        for n in (1, 2, 3):
            session.add(Customer(
                id=f"C{n}", name="李四", kind="retail", status="active", tier="mass", level=1,
                locale="zh_CN", timezone="Asia/Shanghai", total_assets=Decimal(1),
                balance=Decimal(1), credit_limit=Decimal(0), balance_growth_90d=0.0,
                phone=f"1380000000{n}"))  # fmt: skip
            if n != 3:
                session.add(Consent(customer_id=f"C{n}", channel="sms", purpose="marketing",
                                    granted=True, source="app", granted_at=NOON))  # fmt: skip
    with RecordingGateway() as gateway:
        gateway.reject("13800000002")
        deliverer = Deliverer.from_settings(
            Settings(delivery={"sms_gateway_url": gateway.url}), factory
        )
        report = deliverer.send(rule=RULE, root_run_id="campaign:retail:promo:1", step=STEP,
                                customer_ids=["C1", "C2", "C3"], policy=POLICY, caps=[],
                                now=NOON)  # fmt: skip
        assert (report.sent, report.failed, report.suppressed) == (1, 1, 1)
        night = deliverer.send(rule=RULE, root_run_id="campaign:retail:promo:2", step=STEP,
                               customer_ids=["C1"], policy=POLICY, caps=[], now=NIGHT)  # fmt: skip
        assert night.deferred == {"C1": "2026-06-02T00:30:00+00:00"}
        deliverer.channels.close()
    engine.dispose()


def test_failed_messages_are_listed_with_their_error(client, auth, delivered):
    response = client.get("/v1/messages", params={"status": "failed"}, headers=auth("mia"))
    assert response.status_code == 200, response.text
    (item,) = response.json()["items"]
    assert (item["customer_id"], item["status"], item["attempts"]) == ("C2", "failed", 1)
    assert "invalid destination" in item["last_error"]
    assert item["idempotency_key"] == "campaign:retail:promo:1|a1|C2"
    assert "13800000002" not in response.text  # no contact details in the outbox view


def test_messages_filter_by_customer_and_workflow(client, auth, delivered):
    def keys(**params):
        items = client.get("/v1/messages", params=params, headers=auth("cora")).json()["items"]
        return sorted((i["customer_id"], i["status"]) for i in items)

    assert keys(customer_id="C1") == [("C1", "deferred"), ("C1", "sent")]
    assert keys(workflow_id="campaign:retail:promo:1") == [
        ("C1", "sent"), ("C2", "failed"), ("C3", "suppressed")]  # fmt: skip
    page = client.get("/v1/messages", params={"limit": 2}, headers=auth("ada")).json()
    assert (len(page["items"]), page["next"]) == (2, 2)


def test_contacts_say_why(client, auth, delivered):
    def contacts(cid):
        response = client.get(f"/v1/customers/{cid}/contacts", headers=auth("sam"))
        assert response.status_code == 200, response.text
        return response.json()["items"]

    deferred, sent = contacts("C1")
    assert (deferred["decision"], deferred["reason"]) == ("deferred", "quiet_hours")
    assert deferred["detail"] == "quiet 21:00-08:30 Asia/Shanghai"
    assert deferred["message"]["due_at"] == "2026-06-02T00:30:00Z"
    assert (sent["decision"], sent["message"]["status"]) == ("sent", "sent")
    assert (sent["ruleset"], sent["ruleset_version"], sent["rule"]) == ("retail", 4, "promo")
    assert sent["plan_hash"] == "f" * 64 and len(sent["template_version"]) == 16
    assert (sent["workflow_id"], sent["step"]) == ("campaign:retail:promo:1", "a1")
    (failed,) = contacts("C2")
    assert (failed["decision"], failed["message"]["status"]) == ("sent", "failed")
    (refused,) = contacts("C3")
    assert (refused["reason"], refused["detail"]) == ("no_consent", "sms/marketing")
    assert contacts("NOBODY") == []


def test_roles(client, auth, delivered):
    assert client.get("/v1/messages", headers=auth("sam")).status_code == 403
    assert client.get("/v1/messages", headers=auth("sal")).status_code == 403
    assert client.get("/v1/customers/C1/contacts", headers=auth("sal")).status_code == 403
    assert client.get("/v1/customers/C1/contacts", headers=auth("mia")).status_code == 200
