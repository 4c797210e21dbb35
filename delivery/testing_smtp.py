"""A recording SMTP server for tests (aiosmtpd in a thread), re-exported by `delivery.testing`.

It accepts every message, parses it, and keeps the first copy of each `Message-ID` in
`received` (every copy in `attempts`), so a test can tell a resend from a second email. It can
refuse an address for good (550) or the next N messages transiently (451).
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import socket
import threading
from typing import Any

from aiosmtpd.controller import Controller


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RecordingSmtp:
    """`with RecordingSmtp() as smtp:` ... `smtp.port`, `smtp.received` (parsed dicts)."""

    def __init__(self, *, port: int = 0, record: str | None = None) -> None:
        self.port, self.record = port or _port(), record
        self.host = "127.0.0.1"
        self.url = f"smtp://{self.host}:{self.port}"
        self.received: list[dict[str, Any]] = []
        self.attempts: list[dict[str, Any]] = []
        self.refused: set[str] = set()
        self._fail_next = 0
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname=self.host, port=self.port)

    def start(self) -> RecordingSmtp:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> RecordingSmtp:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def refuse(self, address: str) -> None:
        """Answer 550 (permanent) to RCPT TO `address`."""
        self.refused.add(address)

    def fail_next(self, count: int) -> None:
        """Answer 451 (transient) to the next `count` messages' DATA."""
        with self._lock:
            self._fail_next += count

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = parsed.get_body(("html", "plain"))
        record = {
            "message_id": parsed["Message-ID"],
            "from": envelope.mail_from,
            "to": list(envelope.rcpt_tos),
            "subject": str(parsed["Subject"] or ""),
            "body": body.get_content() if body is not None else "",
            "list_unsubscribe": parsed["List-Unsubscribe"],
        }
        with self._lock:
            if self._fail_next:
                self._fail_next -= 1
                return "451 4.3.0 try again later"
            self.attempts.append(record)
            if record["message_id"] in self._seen:
                return "250 OK (duplicate)"
            self._seen.add(record["message_id"])
            self.received.append(record)
            if self.record:
                with open(self.record, "a", encoding="utf-8") as file:
                    file.write(json.dumps(record, ensure_ascii=False) + "\n")
                    file.flush()
                    os.fsync(file.fileno())
        return "250 OK"
