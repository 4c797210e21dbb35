"""Fast synthetic customers for campaign tests and the campaign bench.

Rows are plain dicts written with Core executemany in batches (a transaction each), so a
million customers take seconds, not the minutes an ORM loop would. Ids are `C` plus eight
digits: string order is numeric order, which keyset pages and partition bounds rely on being
easy to reason about in assertions. Who has a birthday, a time zone and SMS marketing consent
is decided by functions of the customer's index, so every test states its population exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from store.customer import Consent, Customer
from store.session import session_scope

GRANTED_AT = datetime(2020, 1, 1, tzinfo=UTC)


def customer_id(index: int) -> str:
    """The id of the `index`-th seeded customer."""
    return f"C{index:08d}"


def seed_customers(
    session_factory: sessionmaker[Session],
    count: int,
    *,
    start: int = 0,
    birthday: Callable[[int], date | None] = lambda i: None,
    timezone: Callable[[int], str] = lambda i: "Asia/Shanghai",
    sms_consent: Callable[[int], bool] = lambda i: True,
    batch: int = 20_000,
) -> None:
    """Insert customers `start` .. `start + count - 1` with SMS marketing consent where asked."""
    now = datetime.now(UTC)
    for low in range(start, start + count, batch):
        indexes = range(low, min(low + batch, start + count))
        customers = [_customer(i, birthday(i), timezone(i), now) for i in indexes]
        consents = [_consent(i) for i in indexes if sms_consent(i)]
        with session_scope(session_factory) as session:
            session.execute(sa.insert(Customer), customers)
            if consents:
                session.execute(sa.insert(Consent), consents)


def _customer(index: int, birthday: date | None, zone: str, now: datetime) -> dict:
    return {
        "id": customer_id(index),
        "name": f"客户{index}",
        "kind": "retail",
        "status": "active",
        "tier": "mass",
        "level": 1,
        "locale": "zh_CN" if index % 5 else "en",
        "timezone": zone,
        "birthday": birthday,
        "total_assets": Decimal("1000.00"),
        "balance": Decimal("1000.00"),
        "credit_limit": Decimal("0.00"),
        "balance_growth_90d": 0.0,
        "phone": f"+86138{index:08d}",
        "branch": f"SH{index % 3:02d}",
        "relationship_manager": f"rm{index % 5:02d}",
        "attributes": {},
        "created_at": now,
        "updated_at": now,
    }


def _consent(index: int) -> dict:
    return {
        "customer_id": customer_id(index),
        "channel": "sms",
        "purpose": "marketing",
        "granted": True,
        "source": "branch",
        "evidence": None,
        "granted_at": GRANTED_AT,
        "expires_at": None,
    }
