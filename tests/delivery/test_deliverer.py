"""Deliverer.send end to end against the recording gateway and SMTP server, on both databases:
the gate's decisions, the outbox, and exactly-once delivery across retries."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
import sqlalchemy as sa
from delivery_samples import MARKETING, NOON, REPO, RULE, SERVICE_RULE, SMS

from delivery.channels import Channels
from delivery.deliverer import Deliverer
from delivery.templates import Renderer
from dsl.local_time import LocalRun
from dsl.plan import CapSpec, DurationSpec, PolicySpec, SendStep
from store.event import Event
from store.outbox import ContactDecision, Message
from store.session import session_scope

RUN = "campaign:retail:promo:20260601"
NIGHT = NOON + timedelta(hours=12)  # 22:00 in Shanghai
WEEKLY_3 = CapSpec(count=3, unit="messages", per="customer",
                   window=DurationSpec(amount=7, unit="day"))  # fmt: skip


def send(deliverer, ids, *, rule=RULE, run=RUN, step=SMS, policy=MARKETING, caps=(), now=NOON,
         event_id=None):  # fmt: skip
    return deliverer.send(rule=rule, root_run_id=run, step=step, customer_ids=ids,
                          policy=policy, caps=list(caps), now=now, event_id=event_id)  # fmt: skip


def rows(session_factory, model, *columns, **where):
    with session_factory() as session:
        query = sa.select(*[getattr(model, c) for c in columns]).order_by(model.id)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return [tuple(r) if len(columns) > 1 else r[0] for r in session.execute(query)]


def test_sends_each_consenting_customer_once(deliverer, add_customers, gateway, session_factory):
    ids = add_customers(3)
    report = send(deliverer, ids + ids[:1])  # a repeated id in the page is one customer
    assert (report.sent, report.suppressed, report.failed, report.duplicates) == (3, 0, 0, 0)
    assert len(gateway.received) == 3
    assert gateway.received[0]["body"].startswith("【示例银行】张三先生，今天是您的生日")
    assert {m["id"] for m in gateway.received} == {f"{RUN}|a1|{cid}" for cid in ids}
    again = send(deliverer, ids)
    assert (again.sent, again.duplicates) == (0, 3)
    assert len(gateway.received) == 3 and gateway.duplicates == 0
    messages = rows(session_factory, Message, "status", "attempts", "category", "rule", "locale")
    assert messages == [("sent", 1, "marketing", "promo", "zh_CN")] * 3
    hashes = rows(session_factory, Message, "rendered_hash")
    assert len(set(hashes)) == 1 and len(hashes[0]) == 32  # same name, same text
    assert len(rows(session_factory, ContactDecision, "id")) == 3


def test_suppressions_are_recorded_with_their_reason(deliverer, add_customers, gateway,
                                                     session_factory):  # fmt: skip
    (ok,) = add_customers(1)
    (no_consent,) = add_customers(1, consents=[("email", "marketing")])
    (dnd,) = add_customers(1, do_not_disturb=True)
    (no_phone,) = add_customers(1, phone=None)
    report = send(deliverer, [ok, no_consent, dnd, no_phone, "GHOST"])
    assert (report.sent, report.suppressed) == (1, 4)
    reasons = dict(rows(session_factory, ContactDecision, "customer_id", "reason"))
    assert reasons == {ok: None, no_consent: "no_consent", dnd: "do_not_disturb",
                       no_phone: "no_address", "GHOST": "customer_not_found"}  # fmt: skip
    decision = rows(session_factory, ContactDecision, "rule", "ruleset", "ruleset_version",
                    "template", "workflow_id", "step", "plan_hash", customer_id=dnd)[0]  # fmt: skip
    assert decision == ("promo", "retail", 3, "birthday_sms", RUN, "a1", "ab" * 32)
    assert len(gateway.received) == 1


def test_quiet_hours_defer_to_the_opening_and_never_drop(deliverer, add_customers, gateway,
                                                        session_factory):  # fmt: skip
    shanghai, urumqi = add_customers(1)[0], add_customers(1, timezone="Asia/Urumqi")[0]
    midnight = NIGHT + timedelta(hours=2)  # 00:00 in Shanghai, 22:00 in Urumqi
    at_night = send(deliverer, [shanghai, urumqi], now=midnight)
    assert at_night.deferred == {shanghai: "2026-06-02T00:30:00+00:00",
                                 urumqi: "2026-06-02T02:30:00+00:00"}  # fmt: skip
    assert gateway.received == []
    early = send(deliverer, [shanghai, urumqi], now=NOON + timedelta(hours=22, minutes=31))
    assert early.sent == 1 and list(early.deferred) == [urumqi]  # 06:31 in Urumqi: still quiet
    later = send(deliverer, [shanghai, urumqi], now=NOON + timedelta(hours=24, minutes=30))
    assert (later.sent, later.duplicates) == (1, 1)
    assert len(gateway.received) == 2
    decisions = rows(session_factory, ContactDecision, "decision", customer_id=urumqi)
    assert decisions == ["deferred", "sent"]  # asked again too early: the row answered


def test_frequency_caps_count_across_rules_and_spare_service(deliverer, add_customers, gateway):
    (cid,) = add_customers(1)
    policy = MARKETING.model_copy(update={"caps": [WEEKLY_3]})
    for n in range(4):
        report = send(deliverer, [cid], run=f"campaign:retail:r{n}:1", policy=policy,
                      rule=RULE.model_copy(update={"rule": f"r{n}"}))  # fmt: skip
        assert (report.sent, report.suppressed) == ((1, 0) if n < 3 else (0, 1))
    service = PolicySpec(name="svc", category="service", caps=[WEEKLY_3])
    report = send(deliverer, [cid], rule=SERVICE_RULE, run="campaign:svc:notice:1",
                  policy=service)  # fmt: skip
    assert report.sent == 1  # three marketing messages do not count against a service cap
    # Nine days later the marketing window has room again.
    later = send(deliverer, [cid], run="campaign:retail:r9:1", policy=policy,
                 now=NOON + timedelta(days=9))  # fmt: skip
    assert later.sent == 1
    assert len(gateway.received) == 5


def test_rule_caps_count_only_the_rule(deliverer, add_customers, session_factory):
    (cid,) = add_customers(1)
    yearly = CapSpec(count=1, unit="messages", per="customer",
                     window=DurationSpec(amount=365, unit="day"))  # fmt: skip
    assert send(deliverer, [cid], run="campaign:retail:promo:1", caps=[yearly]).sent == 1
    again = send(deliverer, [cid], run="campaign:retail:promo:2", caps=[yearly],
                 now=NOON + timedelta(days=1))  # fmt: skip
    assert again.suppressed == 1
    other = RULE.model_copy(update={"rule": "other"})
    assert send(deliverer, [cid], rule=other, run="x:2", caps=[yearly]).sent == 1
    detail = rows(session_factory, ContactDecision, "detail", reason="rule_cap")
    assert detail == ["rule: 1 per 365 day (has 1)"]


def test_personalisation_opt_out(settings, session_factory, add_customers, gateway, tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    (templates / "sms/zh_CN/soft_sms.txt").write_text(
        "【{{ bank.name }}】{% if customer.name %}{{ customer.name }}，{% endif %}您好。回复TD退订"
    )
    (templates / "sms/zh_CN/blunt_sms.txt").write_text(
        "【{{ bank.name }}】{{ customer.name }}，您好。回复TD退订"
    )
    deliverer = Deliverer(session_factory, Channels.from_settings(settings), Renderer(templates))
    (opted,) = add_customers(1, personalisation_opt_out=True)
    (normal,) = add_customers(1)
    report = send(deliverer, [opted, normal], step=SendStep(step="s", channel="sms",
                                                            template="soft_sms"))  # fmt: skip
    assert report.sent == 2
    assert sorted(gateway.bodies()) == [
        "【示例银行】张三，您好。回复TD退订",
        "【示例银行】您好。回复TD退订",
    ]
    # A template that names the customer unconditionally cannot serve them: suppressed.
    blunt_step = SendStep(step="s", channel="sms", template="blunt_sms")
    blunt = send(deliverer, [opted, normal], run="campaign:retail:promo:2", step=blunt_step)
    assert (blunt.sent, blunt.suppressed) == (1, 1)
    reasons = rows(session_factory, ContactDecision, "reason", "detail", customer_id=opted)
    assert reasons == [(None, "non-personalised (opt-out)"),
                       ("personalisation_opt_out_unrenderable", None)]  # fmt: skip
    # Service messages are not marketing: they keep the customer's name.
    service = send(deliverer, [opted], rule=SERVICE_RULE, run="svc:1", policy=None)
    assert service.sent == 1 and "张三" in gateway.bodies()[-1]
    deliverer.channels.close()


def test_email_over_smtp_with_a_stable_message_id(deliverer, add_customers, smtp,
                                                  session_factory):  # fmt: skip
    (cid,) = add_customers(1, name="<i>Amy</i>", locale="en",
                           consents=[("email", "marketing")])  # fmt: skip
    step = SendStep(step="e1", channel="email", template="account_anniversary")
    report = send(deliverer, [cid], step=step, policy=None)
    assert report.sent == 1
    (mail,) = smtp.received
    assert mail["to"] == [f"{cid.lower()}@mail.example"]
    assert mail["subject"] == "Thank you for another year with Example Bank, Mr <i>Amy</i>"
    assert "Dear Mr &lt;i&gt;Amy&lt;/i&gt;," in mail["body"]
    assert mail["list_unsubscribe"].startswith(f"<https://bank.example/unsubscribe/{cid}.")
    from delivery.smtp import message_id

    assert mail["message_id"] == message_id(f"{RUN}|e1|{cid}")


def test_push_goes_through_the_gateway_by_customer_id(deliverer, add_customers, gateway):
    (cid,) = add_customers(1, consents=[("push", "marketing")], phone=None)
    step = SendStep(step="p1", channel="push", template="welcome_push")
    assert send(deliverer, [cid], step=step, policy=None).sent == 1
    assert (gateway.received[0]["to"], gateway.received[0]["channel"]) == (cid, "push")


def test_event_context_reaches_the_template(deliverer, add_customers, gateway, session_factory):
    (cid,) = add_customers(1)
    with session_scope(session_factory) as session:
        event = Event(type="deposit.matured", customer_id=cid, occurred_at=NOON,
                      payload={"amount": "20,000.00"}, idempotency_key="e-1")  # fmt: skip
        session.add(event)
        session.flush()
        event_id = event.id
    step = SendStep(step="s1", channel="sms", template="deposit_matured_sms")
    report = send(deliverer, [cid], rule=SERVICE_RULE, step=step, policy=None,
                  event_id=event_id, run=f"journey:svc:notice:{cid}")  # fmt: skip
    assert report.sent == 1
    assert "本息20,000.00元" in gateway.bodies()[0]
    # Without the event the template cannot render: a permanent failure, listed as failed.
    failed = send(deliverer, [cid], rule=SERVICE_RULE, step=step, policy=None, run="j:2")
    assert failed.failed == 1
    assert rows(session_factory, Message, "status", "last_error", workflow_id="j:2")[0][0] == (
        "failed"
    )


def test_permanent_failures_are_failed_and_never_retried(deliverer, add_customers, gateway,
                                                        session_factory):  # fmt: skip
    good, bad = add_customers(2)
    gateway.reject(customer_phone(session_factory, bad))
    report = send(deliverer, [good, bad])
    assert (report.sent, report.failed) == (1, 1)
    assert send(deliverer, [good, bad]).duplicates == 2
    assert rows(session_factory, Message, "status", "attempts") == [("sent", 1), ("failed", 1)]


def test_a_batch_refused_whole_is_resent_one_by_one(deliverer, add_customers, gateway):
    ids = add_customers(5)
    gateway.batch_400 = True
    gateway.reject("13800000003")
    report = send(deliverer, ids)
    assert (report.sent, report.failed) == (4, 1)
    assert len(gateway.received) == 4


def customer_phone(session_factory, cid):
    from store.customer import Customer

    with session_factory() as session:
        return session.get(Customer, cid).phone


@pytest.mark.parametrize("failures", [1, 2])
def test_transient_failures_retry_in_place(deliverer, add_customers, gateway, failures):
    ids = add_customers(3)
    gateway.fail_next(failures, 503)  # two retries are configured
    assert send(deliverer, ids).sent == 3
    assert len(gateway.received) == 3


def test_a_greeting_sent_at_the_customers_local_time_counts_from_its_send(
    deliverer, add_customers, gateway
):
    (tokyo,) = add_customers(1, timezone="Asia/Tokyo")
    daily = CapSpec(count=1, unit="messages", per="customer",
                    window=DurationSpec(amount=1, unit="day"))  # fmt: skip
    policy = MARKETING.model_copy(update={"caps": [daily]})
    local = LocalRun.of(NOON, "09:00", "Asia/Shanghai")
    slot = local.slot("Asia/Tokyo")  # 09:00 in Tokyo the next day, ~22 hours on

    def greet(now):
        return deliverer.send(rule=RULE, root_run_id=RUN, step=SMS, customer_ids=[tokyo],
                              policy=policy, caps=[], now=now, local=local)  # fmt: skip

    assert greet(NOON).deferred == {tokyo: slot.isoformat()}
    assert greet(slot).sent == 1
    # Four hours after the greeting went out (over a day after its row was made) the cap holds.
    later = slot + timedelta(hours=4)
    other = send(deliverer, [tokyo], rule=RULE.model_copy(update={"rule": "promo2"}),
                 run="campaign:retail:promo2:1", policy=policy, now=later)  # fmt: skip
    assert (other.sent, other.suppressed) == (0, 1)
    assert len(gateway.received) == 1
