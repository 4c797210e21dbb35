"""Engines, session factories and the transaction scope every unit of work runs in.

`make_engine` is the one place that knows database quirks. SQLite gets foreign keys, WAL (readers
never block the writer) and a busy timeout, and its transactions start with BEGIN IMMEDIATE: a
transaction holds the write lock from its start, so read-then-write work (an outbox check, an
audit append) waits its turn instead of failing with "database is locked" when another process
wrote in between. This is also what serialises audit appends on SQLite. The price: on SQLite,
one thread must not hold two open transactions at once (the second waits for the first until
the busy timeout). PostgreSQL gets a pre-pinged pool. Code outside `store` never creates
engines or sessions any other way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_S = 15


def _configure_sqlite(engine: Engine, *, foreign_keys: bool) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver; the "begin" hook below issues BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints under WAL
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | sa.URL, *, echo: bool = False, foreign_keys: bool = True) -> Engine:
    """An engine for `url`, configured for rulebank on SQLite or PostgreSQL."""
    url = sa.make_url(url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        _configure_sqlite(engine, foreign_keys=foreign_keys)
        return engine
    return sa.create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,  # survive database restarts and idle-connection reaping
        pool_size=5,
        max_overflow=10,
        pool_recycle=1800,
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to `engine`; objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commits when the block ends, rolls back if it raises."""
    with factory() as session, session.begin():
        yield session
