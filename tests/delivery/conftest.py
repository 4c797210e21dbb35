"""Fixtures for the delivery tests: a migrated database, customers, and real test servers.

On PostgreSQL the session database is shared, so each test gets its own schema (selected
through `search_path`), as the storage tests do. The gateway and SMTP server are the real
recording servers from `delivery.testing`, on random ports.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from delivery.deliverer import Deliverer
from delivery.testing import RecordingGateway, RecordingSmtp
from store import migrate
from store.customer import Consent, Customer
from store.session import make_engine, make_session_factory, session_scope

sys.path.insert(0, str(Path(__file__).parent))  # delivery_samples, whatever the rootdir
from delivery_samples import (
    MARKETING_CONSENT,
    REPO,
    TOKEN,
    consent_rows,
    customer_row,
)


def _isolated(url: str) -> Iterator[str]:
    if not url.startswith("postgresql"):
        yield url
        return
    schema = f"delivery_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.schema.CreateSchema(schema))
    try:
        scoped = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SET lock_timeout = '10s'"))
            conn.execute(sa.schema.DropSchema(schema, cascade=True))
        admin.dispose()


@pytest.fixture
def db_url(database_url: str) -> Iterator[str]:
    """A migrated database of this test's own, on SQLite and on PostgreSQL."""
    for url in _isolated(database_url):
        migrate.upgrade(url)
        yield url


@pytest.fixture
def session_factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def gateway() -> Iterator[RecordingGateway]:
    with RecordingGateway(token=TOKEN) as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[RecordingSmtp]:
    with RecordingSmtp() as server:
        yield server


@pytest.fixture
def settings(gateway: RecordingGateway, smtp: RecordingSmtp) -> Settings:
    delivery = {
        "sms_gateway_url": gateway.url, "push_gateway_url": gateway.url,
        "gateway_token": TOKEN, "smtp_host": smtp.host, "smtp_port": smtp.port,
        "retry_backoff_s": 0.01, "timeout_s": 5,
    }  # fmt: skip
    return Settings(environment="prod", templates_dir=REPO / "templates", delivery=delivery)


@pytest.fixture
def deliverer(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[Deliverer]:
    built = Deliverer.from_settings(settings, session_factory)
    yield built
    built.channels.close()


@pytest.fixture
def add_customers(session_factory: sessionmaker[Session]) -> Callable[..., list[str]]:
    """`add_customers(n, consents=..., **overrides)` -> ids; marketing consent by default."""
    counter = iter(range(1, 10**6))

    def add(n: int = 1, *, consents=MARKETING_CONSENT, **overrides: Any) -> list[str]:
        ids = [f"C{next(counter):09d}" for _ in range(n)]
        with session_scope(session_factory) as session:
            session.execute(sa.insert(Customer), [customer_row(c, **overrides) for c in ids])
            rows = [r for c in ids for r in consent_rows(c, *consents)]
            if rows:
                session.execute(sa.insert(Consent), rows)
        return ids

    return add
