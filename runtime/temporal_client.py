"""Connecting to Temporal: one way for the worker, the API, the CLI and the tests.

Every client uses Temporal's pydantic data converter, because every payload crossing the
boundary (`runtime.contracts`) is a pydantic model. `connect` waits for a server that is still
starting (the embedded dev server, a cluster behind a load balancer) up to a deadline, then
fails with `TemporalUnavailableError`, which the API maps to 503. `LazyClient` is the API's
holder: the app starts without Temporal and connects on the first request that needs it, so
the API keeps serving rulesets and audit while Temporal is down.
"""

from __future__ import annotations

import asyncio
import time

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from config.settings import TemporalSettings
from services.errors import DomainError


class TemporalUnavailableError(DomainError):
    status = 503
    title = "Temporal unavailable"


async def _attempt(settings: TemporalSettings) -> Client:
    client = await Client.connect(
        settings.address, namespace=settings.namespace, data_converter=pydantic_data_converter
    )
    # connect() only opens the channel; this proves the frontend really serves requests.
    await client.service_client.check_health()
    return client


async def connect(settings: TemporalSettings, *, timeout_s: float | None = None) -> Client:
    """A client for `settings`, retrying until the server answers or `timeout_s` passes."""
    deadline = time.monotonic() + (settings.connect_timeout_s if timeout_s is None else timeout_s)
    while True:
        try:
            # Bounded per attempt: a port that accepts but never answers must not hang us.
            return await asyncio.wait_for(_attempt(settings), settings.connect_timeout_s)
        except Exception as exc:  # the SDK raises RuntimeError for refused connections
            if time.monotonic() >= deadline:
                raise TemporalUnavailableError(
                    f"Temporal does not answer at {settings.address}: {exc}"
                ) from None
            await asyncio.sleep(0.2)


class LazyClient:
    """A client connected on first use and shared afterwards (one per event loop: the API's).

    One connection attempt per request at most, and after a failure none for `RETRY_AFTER_S`:
    while Temporal is down, requests answer 503 at once instead of queueing on timeouts.
    """

    RETRY_AFTER_S = 5.0

    def __init__(self, settings: TemporalSettings) -> None:
        self.settings = settings
        self._client: Client | None = None
        self._lock: asyncio.Lock | None = None
        self._failed: tuple[float, str] | None = None

    async def get(self) -> Client:
        """The shared client; raises TemporalUnavailableError when Temporal does not answer."""
        if not self.settings.enabled:
            raise TemporalUnavailableError("the Temporal runtime is disabled in the settings")
        if self._client is None:
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if self._failed and time.monotonic() - self._failed[0] < self.RETRY_AFTER_S:
                    raise TemporalUnavailableError(self._failed[1])
                if self._client is None:
                    try:
                        self._client = await connect(self.settings, timeout_s=0)
                    except TemporalUnavailableError as exc:
                        self._failed = (time.monotonic(), exc.detail)
                        raise
        return self._client
