"""Alembic environment: runs migrations on the connection or URL `store.migrate` hands over.

`store.migrate` passes an open connection in `config.attributes["connection"]` (or a URL in
`config.attributes["url"]`); with neither, the URL comes from the settings. SQLite migrations
render batch operations (SQLite cannot ALTER most things in place) and run with foreign keys
off, so a table rebuilt by a batch operation does not cascade-delete its children.
"""

from __future__ import annotations

from alembic import context

from store.models import Base
from store.session import make_engine

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from config.settings import get_settings

        url = get_settings().database.url
    return str(url)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=_url().startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url(), foreign_keys=False)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
