"""Exactly once across failures: transient errors, lost responses, concurrent retries, and
permanent refusals, against the real recording gateway and SMTP server."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from delivery_samples import MARKETING, NOON, RULE, SMS
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError

from config.settings import Settings
from delivery.channels import ChannelNotConfiguredError, Channels, DryRunChannel
from delivery.context import ContextBuilder
from delivery.deliverer import TRANSIENT_ERROR, Deliverer
from delivery.templates import Renderer
from dsl.plan import SendStep
from store.outbox import Message
from store.session import session_scope

RUN = "campaign:retail:promo:1"
EMAIL = SendStep(step="e1", channel="email", template="account_anniversary")


def send(deliverer, ids, step=SMS, policy=MARKETING):
    return deliverer.send(rule=RULE, root_run_id=RUN, step=step, customer_ids=ids,
                          policy=policy, caps=[], now=NOON)  # fmt: skip


def statuses(session_factory):
    with session_factory() as session:
        query = sa.select(Message.status, Message.attempts).order_by(Message.id)
        return [tuple(r) for r in session.execute(query)]


def test_an_outage_longer_than_the_retries_fails_the_activity_then_sends_once(
    deliverer, add_customers, gateway, session_factory
):
    ids = add_customers(3)
    gateway.fail_next(3, 500)  # one attempt and two retries
    with pytest.raises(ApplicationError) as raised:
        send(deliverer, ids)
    assert raised.value.type == TRANSIENT_ERROR and not raised.value.non_retryable
    assert statuses(session_factory) == [("pending", 1)] * 3
    assert gateway.received == []
    report = send(deliverer, ids)  # Temporal's retry of the activity
    assert report.sent == 3
    assert statuses(session_factory) == [("sent", 2)] * 3
    assert len(gateway.received) == 3


def test_a_lost_response_is_resent_and_deduplicated_by_the_gateway(
    deliverer, add_customers, gateway, session_factory
):
    ids = add_customers(3)
    send(deliverer, ids)
    # As if the worker died after the gateway accepted but before the outcome was recorded.
    with session_scope(session_factory) as session:
        session.execute(sa.update(Message).values(status="pending", sent_at=None))
    report = send(deliverer, ids)
    assert (report.sent, report.duplicates) == (3, 0)
    assert (len(gateway.received), gateway.duplicates) == (3, 3)


def test_concurrent_attempts_on_one_page_send_once(settings, session_factory, add_customers,
                                                   gateway):  # fmt: skip
    ids = add_customers(40)
    reports, errors = [], []

    def attempt() -> None:
        deliverer = Deliverer.from_settings(settings, session_factory)
        try:
            reports.append(send(deliverer, ids))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            deliverer.channels.close()

    threads = [threading.Thread(target=attempt) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(gateway.received) == 40
    assert sorted(m["id"] for m in gateway.received) == sorted(f"{RUN}|a1|{c}" for c in ids)
    assert sum(r.sent + r.duplicates for r in reports) == 120
    assert {s for s, _ in statuses(session_factory)} == {"sent"}


def test_a_wrong_gateway_token_is_transient_not_a_lost_message(
    settings, session_factory, add_customers, gateway
):
    (cid,) = add_customers(1)
    wrong = settings.model_copy(update={"delivery": settings.delivery.model_copy(
        update={"gateway_token": SecretStr("nope"), "retries": 0})})  # fmt: skip
    deliverer = Deliverer.from_settings(wrong, session_factory)
    with pytest.raises(ApplicationError, match="HTTP 401"):
        send(deliverer, [cid])
    deliverer.channels.close()
    deliverer = Deliverer.from_settings(settings, session_factory)
    assert send(deliverer, [cid]).sent == 1
    deliverer.channels.close()


def test_smtp_refusals_and_retries(deliverer, add_customers, smtp, session_factory):
    email = [("email", "marketing")]
    good, refused = add_customers(2, consents=email)
    smtp.refuse(f"{refused.lower()}@mail.example")
    smtp.fail_next(1)  # 451 for the first message: retried in place on a new connection
    report = send(deliverer, [good, refused], step=EMAIL, policy=None)
    assert (report.sent, report.failed) == (1, 1)
    assert [m["to"] for m in smtp.received] == [[f"{good.lower()}@mail.example"]]
    with session_factory() as session:
        error = session.scalar(sa.select(Message.last_error).where(Message.status == "failed"))
    assert error.startswith("SMTP 550") and "mail.example" not in error  # no address kept


def test_smtp_down_is_transient(settings, session_factory, add_customers):
    (cid,) = add_customers(1, consents=[("email", "marketing")])
    down = settings.model_copy(update={"delivery": settings.delivery.model_copy(
        update={"smtp_port": 1, "retries": 1})})  # fmt: skip
    deliverer = Deliverer.from_settings(down, session_factory)
    with pytest.raises(ApplicationError, match="connect"):
        send(deliverer, [cid], step=EMAIL, policy=None)
    assert statuses(session_factory) == [("pending", 1)]


def test_unconfigured_channels_are_dry_runs_in_dev_and_failures_in_prod(
    session_factory, add_customers
):
    channels = Channels.from_settings(Settings())
    assert isinstance(channels.get("sms"), DryRunChannel)
    with pytest.raises(ChannelNotConfiguredError, match="fax"):
        channels.get("fax")
    first, second = add_customers(2)
    deliverer = Deliverer.from_settings(Settings(), session_factory)
    assert send(deliverer, [first]).sent == 1
    deliverer = Deliverer.from_settings(Settings(environment="prod"), session_factory)
    assert send(deliverer, [second]).failed == 1
    with session_factory() as session:
        error = session.scalar(sa.select(Message.last_error).where(Message.status == "failed"))
    assert error.startswith("the sms channel is not configured")


class BlockingContexts(ContextBuilder):
    """Contexts with a `wait()` that blocks the rendering thread, as a busy machine would."""

    def build(self, row, locale, **kwargs):
        return {**super().build(row, locale, **kwargs), "wait": lambda: time.sleep(0.05) or ""}


@pytest.fixture
def odd_templates(tmp_path):
    """`blocked` waits in the middle of the render; `slow` and `big` break the caps."""
    sms = tmp_path / "sms" / "zh_CN"
    sms.mkdir(parents=True)
    (sms / "blocked.txt").write_text("【{{ bank.name }}】{{ wait() }}{{ customer.name }}，您好")
    (sms / "slow.txt").write_text("{% for i in range(99999) %}{% for j in range(99999) %}"
                                  "{% endfor %}{% endfor %}")  # fmt: skip
    (sms / "big.txt").write_text("{% for i in range(1000) %}0123456789{% endfor %}")
    return tmp_path


def odd_deliverer(settings, session_factory, root):
    renderer = Renderer(root, timeout_ms=10, max_chars=1000)
    contexts = BlockingContexts.from_settings(settings.delivery)
    return Deliverer(session_factory, Channels.from_settings(settings), renderer, contexts)


def test_a_render_held_up_past_the_cap_is_sent(settings, session_factory, add_customers,
                                               gateway, odd_templates):  # fmt: skip
    deliverer = odd_deliverer(settings, session_factory, odd_templates)
    (cid,) = add_customers(1)
    step = SendStep(step="b1", channel="sms", template="blocked")
    assert send(deliverer, [cid], step=step).sent == 1
    deliverer.close()
    assert gateway.bodies() == ["【示例银行】张三，您好"]
    assert statuses(session_factory) == [("sent", 1)]


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("slow", "sms/zh_CN/slow.txt: render time limit exceeded (10 ms of CPU time)"),
        ("big", "sms/zh_CN/big.txt: output exceeds 1000 characters"),
    ],
)
def test_a_template_over_a_cap_fails_for_good_with_its_reason(
    settings, session_factory, add_customers, gateway, odd_templates, template, reason
):
    deliverer = odd_deliverer(settings, session_factory, odd_templates)
    (cid,) = add_customers(1)
    step = SendStep(step="s1", channel="sms", template=template)
    report = send(deliverer, [cid], step=step)  # no retryable error: nothing to retry
    assert (report.sent, report.failed) == (0, 1)
    assert send(deliverer, [cid], step=step).duplicates == 1  # Temporal's retry, were there one
    deliverer.close()
    assert gateway.received == []
    with session_factory() as session:
        failed = session.execute(sa.select(Message.status, Message.last_error)).all()
    assert [tuple(row) for row in failed] == [("failed", reason)]
