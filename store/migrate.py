"""Apply and inspect the database migrations, programmatically and from any directory.

No `alembic.ini` is needed: the configuration is built here and points at the migration scripts
shipped inside this package. The CLI and the API call `ensure_up_to_date` at start-up so that
an empty or old database is refused with a clear message instead of failing on the first query.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from store.session import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")


class SchemaOutOfDateError(RuntimeError):
    """The database is not at the schema revision this code expects."""

    def __init__(self, url: str, current: str | None, head: str) -> None:
        self.current, self.head = current, head
        safe = sa.make_url(url).render_as_string(hide_password=True)
        found = f"revision {current}" if current else "no rulebank schema (never migrated)"
        super().__init__(
            f"database {safe} has {found}, but this rulebank needs revision {head}; "
            "apply the migrations (store.migrate.upgrade) and start again"
        )


def alembic_config(url: str | sa.URL | None = None) -> Config:
    """An Alembic config for the packaged migrations; `url` defaults to the settings."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.attributes["url"] = (
            str(url) if isinstance(url, str) else url.render_as_string(hide_password=False)
        )
    return config


def head_revision() -> str:
    """The newest revision the shipped migrations define."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations shipped"
    return head


def _run(url: str | sa.URL, action: str, revision: str) -> None:
    # Foreign keys off on SQLite: batch migrations rebuild tables, which must not cascade.
    engine = make_engine(url, foreign_keys=False)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            getattr(command, action)(config, revision)
    finally:
        engine.dispose()


def upgrade(url: str | sa.URL, revision: str = "head") -> None:
    """Migrate the database at `url` up to `revision` (default: the newest) in one transaction."""
    _run(url, "upgrade", revision)


def downgrade(url: str | sa.URL, revision: str) -> None:
    """Migrate the database at `url` down to `revision` ("base" removes everything)."""
    _run(url, "downgrade", revision)


def current_revision(url: str | sa.URL) -> str | None:
    """The revision the database at `url` is at, or None if it was never migrated."""
    parsed = sa.make_url(url)
    database = parsed.database or ""
    # Do not create an empty SQLite file just to find out it is empty.
    if (
        parsed.get_backend_name() == "sqlite"
        and database not in ("", ":memory:")
        and not database.startswith("file:")
        and not Path(database).exists()
    ):
        return None
    engine = make_engine(parsed)
    try:
        with engine.connect() as connection:
            heads = MigrationContext.configure(connection).get_current_heads()
    finally:
        engine.dispose()
    return ",".join(sorted(heads)) or None


def is_up_to_date(url: str | sa.URL) -> bool:
    """Whether the database at `url` is at the newest shipped revision."""
    return current_revision(url) == head_revision()


def ensure_up_to_date(url: str | sa.URL) -> None:
    """Raise `SchemaOutOfDateError` with an actionable message unless `is_up_to_date(url)`."""
    current, head = current_revision(url), head_revision()
    if current != head:
        raise SchemaOutOfDateError(str(url), current, head)
