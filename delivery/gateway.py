"""The HTTP SMS/push gateway adapter, and the wire protocol it speaks.

`POST <url>` with `Authorization: Bearer <token>`:

- a batch, `{"messages": [{"id", "to", "body", "channel"}, ...]}`, answered 200 with
  `{"results": [{"id", "status": "accepted" | "duplicate" | "rejected", "error"}]}`;
- one message, the same object alone with `X-Idempotency-Key: <id>`, answered 200
  `{"id", "status"}` or 4xx `{"error"}` when the provider refuses it for good.

The message id is our idempotency key, and the gateway dedupes on it (as real SMS gateways
do), so resending a message whose first attempt may have gone out is safe. Network errors, 5xx,
429 and auth errors are transient: retried here with exponential backoff, then reported, so the
activity fails and Temporal retries it. A batch refused as a whole with a 4xx is resent one by
one, so one bad number cannot fail its 99 neighbours.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from delivery.channels import Outgoing, SendResults

log = logging.getLogger(__name__)
PERMANENT = {400, 404, 410, 413, 422}  # the provider will never accept this request


class HttpGatewayChannel:
    """Sends through an HTTP gateway in batches, over one keep-alive client."""

    def __init__(
        self, name: str, url: str, *, token: str | None, batch_size: int = 100,
        timeout_s: float = 10.0, retries: int = 2, backoff_s: float = 0.2, concurrency: int = 4,
    ) -> None:  # fmt: skip
        self.name, self.url, self.batch_size = name, url, batch_size
        self.retries, self.backoff_s = retries, backoff_s
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        limits = httpx.Limits(max_keepalive_connections=max(concurrency, 1) * 4)
        self.client = httpx.Client(headers=headers, timeout=timeout_s, limits=limits)
        # Chunks of one page go out in parallel: a page waits for one round trip, not five.
        self.pool = ThreadPoolExecutor(max(concurrency, 1), thread_name_prefix=f"{name}-gateway")

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()

    def send_batch(self, messages: list[Outgoing]) -> SendResults:
        """Send `messages` in chunks of `batch_size`, a few at a time; per-key outcome."""
        size = self.batch_size
        chunks = [messages[start : start + size] for start in range(0, len(messages), size)]
        results = SendResults()
        for outcome in self.pool.map(self._chunk, chunks):
            results.merge(outcome)
        return results

    def _wire(self, message: Outgoing) -> dict:
        wire = {"id": message.key, "to": message.to, "body": message.body, "channel": self.name}
        if message.subject is not None:
            wire["subject"] = message.subject
        return wire

    def _post(self, json: dict, headers: dict[str, str] | None = None) -> httpx.Response | str:
        """The response, or the last transient error's text after the retries ran out."""
        error = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                response = self.client.post(self.url, json=json, headers=headers)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code < 400 or response.status_code in PERMANENT:
                return response
            error = f"HTTP {response.status_code}"
        log.warning("%s gateway unavailable after %d attempts: %s", self.name,
                    self.retries + 1, error)  # fmt: skip
        return error or "gateway unavailable"

    def _chunk(self, chunk: list[Outgoing]) -> SendResults:
        keys = [m.key for m in chunk]
        response = self._post({"messages": [self._wire(m) for m in chunk]})
        if isinstance(response, str):
            return SendResults(transient=dict.fromkeys(keys, response))
        if response.status_code in PERMANENT:
            return self._one_by_one(chunk)
        results = SendResults()
        try:
            items = {item["id"]: item for item in response.json()["results"]}
        except (ValueError, KeyError, TypeError):
            return SendResults(transient=dict.fromkeys(keys, "unreadable gateway response"))
        for key in keys:
            item = items.get(key)
            if item is None:
                results.transient[key] = "gateway did not answer for this message"
            elif item.get("status") in ("accepted", "duplicate"):
                results.sent.add(key)
            else:
                results.failed[key] = str(item.get("error") or "rejected by the gateway")[:500]
        return results

    def _one_by_one(self, chunk: list[Outgoing]) -> SendResults:
        results = SendResults()
        for message in chunk:
            response = self._post(self._wire(message), {"X-Idempotency-Key": message.key})
            if isinstance(response, str):
                results.transient[message.key] = response
            elif response.status_code in PERMANENT:
                results.failed[message.key] = _error_text(response)
            else:
                results.sent.add(message.key)
        return results


def _error_text(response: httpx.Response) -> str:
    try:
        detail = response.json().get("error")
    except (ValueError, AttributeError):
        detail = None
    return f"HTTP {response.status_code}: {detail or 'rejected'}"[:500]
