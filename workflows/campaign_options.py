"""Timeouts and retries of the campaign activities, in one place so the crash test and the
bench reason about the same numbers.

A page activity heartbeats between chunks of sends, so a worker killed mid-page is noticed
after HEARTBEAT (not after the whole start-to-close budget) and the page is retried on another
worker; the outbox's unique idempotency keys make the retry send only what the dead worker had
not sent. Transient failures retry forever with capped backoff: a campaign run must outlast a
gateway or database outage. Permanent failures are non-retryable `ApplicationError`s raised by
the activities themselves.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy

HEARTBEAT = timedelta(seconds=15)
PAGE_TIMEOUT = timedelta(minutes=10)
QUERY_TIMEOUT = timedelta(minutes=10)  # count and bounds scan the audience once per run
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)


def page_options() -> dict[str, Any]:
    """`execute_activity` keyword arguments for the page and deferred-send activities."""
    return {
        "start_to_close_timeout": PAGE_TIMEOUT,
        "heartbeat_timeout": HEARTBEAT,
        "retry_policy": RETRY,
    }


def query_options() -> dict[str, Any]:
    """`execute_activity` keyword arguments for the audience count and partition bounds."""
    return {"start_to_close_timeout": QUERY_TIMEOUT, "retry_policy": RETRY}
