"""Real servers for tests: a recording HTTP SMS/push gateway and a recording SMTP server.

Both listen on 127.0.0.1 on a random free port, in a thread of the test process, and keep
what they receive, deduplicated the way real providers do (by message id / `Message-ID`), so a
test can assert "exactly once" across retries and crashes. They can be told to fail: the next
N requests with 500/503, or a phone / address permanently. Other tracks use them too:

    with RecordingGateway(token="t") as gateway:
        settings = Settings(delivery={"sms_gateway_url": gateway.url, "gateway_token": "t"})

A crash test runs the gateway in its own process so it survives the worker it kills:
`python -m delivery.testing gateway --port 0 --record FILE [--token T] [--delay S]` prints
`listening <url>` and appends every first-seen message to FILE as a JSON line (fsynced).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from delivery.testing_smtp import RecordingSmtp

__all__ = ["RecordingGateway", "RecordingSmtp", "free_port"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RecordingGateway:
    """An HTTP gateway speaking `delivery.gateway`'s protocol that records what it accepts."""

    def __init__(self, *, token: str | None = None, port: int = 0, record: str | None = None,
                 batch_400: bool = False, delay_s: float = 0.0) -> None:  # fmt: skip
        self.token, self.record, self.batch_400 = token, record, batch_400
        self.delay_s = delay_s  # per request: lets a crash test kill a sender mid-page
        self.received: list[dict[str, Any]] = []  # first delivery of each message id
        self.requests = 0  # HTTP requests seen, including failed and unauthorised ones
        self.duplicates = 0
        self.rejected_phones: set[str] = set()
        self._seen: set[str] = set()
        self._fail: list[int] = []  # statuses for the next requests
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/messages"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> RecordingGateway:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> RecordingGateway:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next `count` requests with `status` (500/503: transient)."""
        with self._lock:
            self._fail.extend([status] * count)

    def reject(self, phone: str) -> None:
        """Refuse every message to `phone` for good (a 400 / `rejected`)."""
        self.rejected_phones.add(phone)

    def bodies(self, to: str | None = None) -> list[str]:
        return [m["body"] for m in self.received if to is None or m["to"] == to]

    def _accept(self, message: dict[str, Any]) -> dict[str, Any]:
        # Called with the lock held.
        mid = str(message.get("id"))
        if message.get("to") in self.rejected_phones:
            return {"id": mid, "status": "rejected", "error": "invalid destination"}
        if mid in self._seen:
            self.duplicates += 1
            return {"id": mid, "status": "duplicate"}
        self._seen.add(mid)
        self.received.append(message)
        if self.record:
            with open(self.record, "a", encoding="utf-8") as file:
                file.write(json.dumps(message, ensure_ascii=False) + "\n")
                file.flush()
                os.fsync(file.fileno())
        return {"id": mid, "status": "accepted"}

    def _handle(self, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        if self.delay_s:
            time.sleep(self.delay_s)
        with self._lock:
            self.requests += 1
            if self.token is not None and headers.get("Authorization") != f"Bearer {self.token}":
                return 401, {"error": "bad token"}
            if self._fail:
                return self._fail.pop(0), {"error": "injected failure"}
            try:
                data = json.loads(body)
            except ValueError:
                return 400, {"error": "not JSON"}
            if isinstance(data, dict) and isinstance(data.get("messages"), list):
                if self.batch_400 and any(m.get("to") in self.rejected_phones
                                          for m in data["messages"]):  # fmt: skip
                    return 400, {"error": "invalid destination in batch"}
                return 200, {"results": [self._accept(m) for m in data["messages"]]}
            if not isinstance(data, dict) or "id" not in data:
                return 400, {"error": "expected a message or a batch"}
            if headers.get("X-Idempotency-Key") not in (None, str(data["id"])):
                return 400, {"error": "X-Idempotency-Key does not match the message id"}
            result = self._accept(data)
            return (400 if result["status"] == "rejected" else 200), result

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real gateways
            # Headers and body are separate writes: without TCP_NODELAY, Nagle's algorithm and
            # the client's delayed ACK stall every response by ~40 ms.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                status, payload = gateway._handle(self.headers, self.rfile.read(length))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                return None  # quiet: bodies may hold personal data, and tests read results

        return Handler


def main(argv: list[str] | None = None) -> None:
    """`python -m delivery.testing gateway|smtp --port P --record FILE`: serve until killed."""
    parser = argparse.ArgumentParser(prog="python -m delivery.testing")
    parser.add_argument("server", choices=["gateway", "smtp"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--record", default=None)
    parser.add_argument("--token", default=None)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds per gateway request")
    args = parser.parse_args(argv)
    if args.server == "gateway":
        server: Any = RecordingGateway(
            token=args.token, port=args.port, record=args.record, delay_s=args.delay
        )
    else:
        server = RecordingSmtp(port=args.port or free_port(), record=args.record)
    server.start()
    print(f"listening {server.url}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    server.stop()


if __name__ == "__main__":
    main()
