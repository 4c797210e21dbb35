"""Business events received by the ingest path (transfers, logins, complaints, ...).

Events arrive in batches at high volume (100 M a day at a large bank), so the table is lean:
a 64-bit key, the customer and time for per-customer lookups, the raw payload, and the
sender's idempotency key, unique so a retried batch is stored once. `customer_id` has no
foreign key on purpose: the core systems may deliver an event before the customer row syncs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, BigIntId, JsonDocument, utcnow


class Event(Base):
    __tablename__ = "event"
    __table_args__ = (sa.Index(None, "customer_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(64))
    customer_id: Mapped[str] = mapped_column(sa.String(32))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # May hold personal data (amounts, merchants): it stays here, workflows get the event id.
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    idempotency_key: Mapped[str] = mapped_column(sa.String(128), unique=True)
