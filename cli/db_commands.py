"""`rulebank db upgrade`, and the database opening every database-backed command shares.

The database is the one named by the settings (`RULEBANK_DATABASE_URL`). Commands other than
`db upgrade` refuse a database that is not at the current schema revision with the message
`store.migrate` gives (what it found, what it needs, what to run), exiting 2 without a
traceback; so does a database that cannot be reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
import typer
from sqlalchemy.orm import Session

from cli.sources import fail
from config.settings import get_settings
from store import migrate
from store.session import make_engine, make_session_factory, session_scope

app = typer.Typer(help="Database schema: apply migrations.", no_args_is_help=True)


def _safe(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


def checked_url() -> str:
    """The settings' database URL, after checking it is reachable and fully migrated."""
    url = get_settings().database.url
    try:
        migrate.ensure_up_to_date(url)
    except migrate.SchemaOutOfDateError as exc:
        raise fail(f"{exc} (run `rulebank db upgrade`)") from None
    except sa.exc.SQLAlchemyError as exc:
        raise fail(f"cannot open database {_safe(url)}: {type(exc).__name__}") from None
    return url


@contextmanager
def database_session() -> Iterator[Session]:
    """One transaction on the checked database; the engine is disposed afterwards."""
    engine = make_engine(checked_url())
    try:
        with session_scope(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


@app.command()
def upgrade() -> None:
    """Apply every pending migration to the database named by RULEBANK_DATABASE_URL."""
    url = get_settings().database.url
    try:
        before = migrate.current_revision(url)
        migrate.upgrade(url)
        after = migrate.current_revision(url)
    except sa.exc.SQLAlchemyError as exc:
        raise fail(f"cannot migrate database {_safe(url)}: {type(exc).__name__}") from None
    if before == after:
        typer.echo(f"{_safe(url)}: already at revision {after}")
    else:
        typer.echo(f"{_safe(url)}: upgraded from {before or 'an empty database'} to {after}")
