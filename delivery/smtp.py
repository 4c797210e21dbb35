"""The email adapter: SMTP, one connection per batch, HTML bodies with a one-click unsubscribe.

SMTP has no idempotency key, so each message's `Message-ID` is derived from ours: a resend
after a crash carries the same id, which receiving systems (and our recording test server)
use to recognise the duplicate, and the outbox counts every attempt. A 5xx reply to one
recipient is permanent for that message; a 4xx reply or a lost connection is transient.
"""

from __future__ import annotations

import hashlib
import smtplib
import time
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from delivery.channels import Outgoing, SendResults

SMTP_ERRORS = (smtplib.SMTPException, OSError)


def message_id(key: str) -> str:
    """The RFC 5322 Message-ID of the message with idempotency key `key`."""
    return f"<{hashlib.sha256(key.encode('utf-8')).hexdigest()[:40]}@rulebank>"


class SmtpChannel:
    """Sends email over SMTP (optionally STARTTLS and login)."""

    def __init__(self, host: str, port: int, *, sender: str, username: str | None = None,
                 password: str | None = None, starttls: bool = False, timeout_s: float = 10.0,
                 retries: int = 2, backoff_s: float = 0.2) -> None:  # fmt: skip
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls = username, password, starttls
        self.timeout_s, self.retries, self.backoff_s = timeout_s, retries, backoff_s

    @classmethod
    def from_settings(cls, delivery: Any) -> SmtpChannel:
        password = delivery.smtp_password.get_secret_value() if delivery.smtp_password else None
        return cls(
            delivery.smtp_host, delivery.smtp_port, sender=delivery.smtp_from,
            username=delivery.smtp_username, password=password, starttls=delivery.smtp_starttls,
            timeout_s=delivery.timeout_s, retries=delivery.retries,
            backoff_s=delivery.retry_backoff_s,
        )  # fmt: skip

    def close(self) -> None:
        return None

    def build(self, message: Outgoing) -> EmailMessage:
        """The MIME message for `message`."""
        email = EmailMessage()
        email["From"], email["To"] = self.sender, message.to
        email["Subject"] = message.subject or ""
        email["Message-ID"] = message_id(message.key)
        email["Date"] = formatdate(localtime=False)
        if message.unsubscribe_url:
            email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
            email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email.set_content(message.body, subtype="html", charset="utf-8")
        return email

    def send_batch(self, messages: list[Outgoing]) -> SendResults:
        """Send every message, reconnecting (with backoff) when the connection drops."""
        results, pending = SendResults(), list(messages)
        for attempt in range(self.retries + 1):
            if not pending:
                break
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            pending = self._session(pending, results)
        return results

    def _session(self, messages: list[Outgoing], results: SendResults) -> list[Outgoing]:
        """Send over one connection; returns the messages to try again on a new one."""
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        except SMTP_ERRORS as exc:
            for message in messages:
                results.transient[message.key] = f"connect: {exc}"[:500]
            return messages
        try:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            for index, message in enumerate(messages):
                outcome = self._one(smtp, message)
                if outcome is None:
                    results.sent.add(message.key)
                    results.transient.pop(message.key, None)
                elif outcome[0]:
                    results.failed[message.key] = outcome[1]
                    results.transient.pop(message.key, None)
                else:  # the connection is gone: the rest go on a new one
                    for rest in messages[index:]:
                        results.transient[rest.key] = outcome[1]
                    return messages[index:]
            return []
        except SMTP_ERRORS as exc:
            for message in messages:
                if message.key not in results.sent and message.key not in results.failed:
                    results.transient[message.key] = f"session: {exc}"[:500]
            return [m for m in messages if m.key in results.transient]
        finally:
            try:
                smtp.quit()
            except SMTP_ERRORS:
                smtp.close()

    def _one(self, smtp: smtplib.SMTP, message: Outgoing) -> tuple[bool, str] | None:
        """None when accepted; (permanent, error) otherwise."""
        try:
            refused = smtp.send_message(self.build(message))
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            return code >= 500, f"SMTP {code}: {text!r}"[:500]
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                return True, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:500]
            smtp.rset()
            return False, f"SMTP {exc.smtp_code}"
        if refused:
            code, text = next(iter(refused.values()))
            return code >= 500, f"SMTP {code}: {text!r}"[:500]
        return None
