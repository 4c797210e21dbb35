"""Throughput of `Deliverer.send` on pages of 500 to the recording gateway (SQLite).

The campaign track needs ~1,100 messages/s end to end on a 2-core machine; delivery must leave
most of that budget to audience paging and Temporal. Measured here at several thousand per
second; the floor asserted is far lower so a busy CI machine does not flake, while a
regression to per-customer statements or requests (tens per second) still fails.
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from delivery_samples import (
    MARKETING,
    MARKETING_CONSENT,
    NOON,
    RULE,
    SMS,
    consent_rows,
    customer_row,
)

from store.customer import Consent, Customer
from store.outbox import Message
from store.session import session_scope

FLOOR = 400  # messages per second


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_pages_of_500_send_fast(deliverer, session_factory, gateway):
    ids = [f"T{n:09d}" for n in range(2_000)]
    with session_scope(session_factory) as session:
        session.execute(sa.insert(Customer), [customer_row(c) for c in ids])
        session.execute(sa.insert(Consent),
                        [r for c in ids for r in consent_rows(c, *MARKETING_CONSENT)])  # fmt: skip
    started = time.perf_counter()
    for start in range(0, len(ids), 500):
        report = deliverer.send(rule=RULE, root_run_id="campaign:retail:promo:bench", step=SMS,
                                customer_ids=ids[start : start + 500], policy=MARKETING,
                                caps=[], now=NOON)  # fmt: skip
        assert report.sent == 500
    rate = len(ids) / (time.perf_counter() - started)
    print(f"\ndelivery: {rate:.0f} messages/s in pages of 500")
    assert len(gateway.received) == len(ids)
    with session_factory() as session:
        assert session.scalar(sa.select(sa.func.count()).where(Message.status == "sent")) == 2_000
    assert rate > FLOOR
