"""Channel adapters: what a message looks like on the way out, and how each channel sends it.

A channel takes a batch of `Outgoing` messages and says, per idempotency key, which went out,
which failed for good (a rejected number: never retried, listed as failed) and which failed
transiently (the gateway is down: retried in place with backoff, then by the activity's retry
policy). Every message carries its idempotency key to the provider, which is what makes a
resend after a crash harmless. `Channels` holds one adapter per channel for a worker's life
(one HTTP client each, so connections are kept alive). A channel without settings is a dry
run in development (the outbox is recorded, nothing leaves) and a listed failure in production.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_NUMBER = re.compile(r"\+?\d[\d -]{5,}\d")


def redact(text: str) -> str:
    """`text` without email addresses or phone-like numbers (provider errors echo them)."""
    return _NUMBER.sub("<number>", _EMAIL.sub("<address>", text))


@dataclass(frozen=True, slots=True)
class Outgoing:
    key: str  # the idempotency key: the provider's message id
    channel: str
    customer_id: str
    to: str  # phone, email address, or customer id for push
    body: str
    subject: str | None = None
    unsubscribe_url: str | None = None


@dataclass(slots=True)
class SendResults:
    sent: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)  # permanent: key -> error
    transient: dict[str, str] = field(default_factory=dict)  # retry later: key -> error

    def merge(self, other: SendResults) -> None:
        self.sent |= other.sent
        self.failed.update(other.failed)
        self.transient.update(other.transient)


class Channel(Protocol):
    def send_batch(self, messages: list[Outgoing]) -> SendResults: ...

    def close(self) -> None: ...


class DryRunChannel:
    """Accepts everything and sends nothing: an unconfigured channel in development."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send_batch(self, messages: list[Outgoing]) -> SendResults:
        # Counts only: message bodies carry personal data and never go to logs.
        log.info("dry run: %d %s message(s) not sent (channel not configured)", len(messages),
                 self.name)  # fmt: skip
        return SendResults(sent={m.key for m in messages})

    def close(self) -> None:
        return None


class UnconfiguredChannel:
    """A channel production has no settings for: every message fails for good, listed with
    the reason (never a silent success), while the configured channels keep working."""

    def __init__(self, name: str) -> None:
        self.name = name
        log.warning("the %s channel is not configured: its messages will fail", name)

    def send_batch(self, messages: list[Outgoing]) -> SendResults:
        error = f"the {self.name} channel is not configured (RULEBANK_DELIVERY__ settings)"
        return SendResults(failed=dict.fromkeys((m.key for m in messages), error))

    def close(self) -> None:
        return None


class ChannelNotConfiguredError(RuntimeError):
    """A send step names a channel this worker has no adapter for."""


class Channels:
    """The adapter of each channel a send step may name."""

    def __init__(self, **channels: Channel) -> None:
        self._channels = channels

    def get(self, name: str) -> Channel:
        try:
            return self._channels[name]
        except KeyError:
            raise ChannelNotConfiguredError(f"no {name} channel") from None

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()

    @classmethod
    def from_settings(cls, settings: Any) -> Channels:
        """Gateway and SMTP adapters from `settings.delivery`; unset ones are dry runs in dev
        and fail their messages in prod."""
        from delivery.gateway import HttpGatewayChannel
        from delivery.smtp import SmtpChannel

        delivery, prod = settings.delivery, settings.environment == "prod"
        token = delivery.gateway_token.get_secret_value() if delivery.gateway_token else None
        built: dict[str, Channel] = {}
        for name, url in (("sms", delivery.sms_gateway_url), ("push", delivery.push_gateway_url)):
            if url:
                built[name] = HttpGatewayChannel(
                    name, url, token=token, batch_size=delivery.gateway_batch_size,
                    timeout_s=delivery.timeout_s, retries=delivery.retries,
                    backoff_s=delivery.retry_backoff_s, concurrency=delivery.gateway_concurrency,
                )  # fmt: skip
        if delivery.smtp_host:
            built["email"] = SmtpChannel.from_settings(delivery)
        for name in ("sms", "push", "email"):
            if name not in built:
                built[name] = UnconfiguredChannel(name) if prod else DryRunChannel(name)
        return cls(**built)
