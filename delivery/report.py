"""What one `Deliverer.send` call did, returned to the calling activity (ids only, no content).

`deferred` names the customers whose send falls inside quiet hours, with the UTC instant the
window opens: the caller (a campaign or journey workflow) sleeps until then and calls `send`
again for them with the same step, which finds their deferred outbox rows and decides again.
"""

from __future__ import annotations

from pydantic import BaseModel


class DeliveryReport(BaseModel):
    sent: int = 0
    suppressed: int = 0
    failed: int = 0
    duplicates: int = 0  # already decided by an earlier call (a retry, a replayed page)
    deferred: dict[str, str] = {}  # customer_id -> ISO UTC time the send may happen
