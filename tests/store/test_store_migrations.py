"""Migrations: they build the whole schema from nothing, agree with the models, and undo cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from store import migrate
from store.base import NAMING_CONVENTION, UtcDateTime
from store.models import Base
from store.session import make_engine

TABLES = {
    "customer", "holding", "consent", "event", "ruleset", "ruleset_version", "audit_entry",
    "app_user", "api_key", "message", "contact_decision", "ticket", "lead", "task",
    # journey run index (migration 0006)
    "journey_run",
    # service desk (migration 0005)
    "ticket_clock", "ticket_escalation", "ticket_extension", "calendar_year", "calendar_day",
    "calendar_week", "branch_timezone",
    # sales (migration 0004)
    "rm_profile", "lead_history", "lead_cursor",
}  # fmt: skip


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_scratch_flips_is_up_to_date(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the packaged migrations are found from any directory
    assert migrate.current_revision(db_url) is None
    assert not migrate.is_up_to_date(db_url)
    with pytest.raises(migrate.SchemaOutOfDateError, match="never migrated"):
        migrate.ensure_up_to_date(db_url)

    migrate.upgrade(db_url)

    assert migrate.current_revision(db_url) == migrate.head_revision()
    assert migrate.is_up_to_date(db_url)
    migrate.ensure_up_to_date(db_url)
    assert _tables(db_url) == TABLES | {"alembic_version"}


def test_models_and_migrations_agree(migrated_url: str) -> None:
    engine = make_engine(migrated_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again(migrated_url: str) -> None:
    migrate.downgrade(migrated_url, "base")
    assert _tables(migrated_url) == {"alembic_version"}
    assert migrate.current_revision(migrated_url) is None
    migrate.upgrade(migrated_url)
    assert migrate.is_up_to_date(migrated_url)


def test_checking_a_missing_sqlite_file_does_not_create_it(tmp_path: Path) -> None:
    path = tmp_path / "absent" / "rulebank.db"
    assert not migrate.is_up_to_date(f"sqlite:///{path}")
    assert not path.exists()


def test_error_message_hides_the_password() -> None:
    error = migrate.SchemaOutOfDateError("postgresql://rb:hunter2@db/rb", None, "0001")
    assert "hunter2" not in str(error)
    assert "0001" in str(error)


def test_every_table_follows_the_naming_rules() -> None:
    assert set(Base.metadata.tables) == TABLES
    prefixes = {"ix", "uq", "ck", "fk", "pk"}
    assert set(NAMING_CONVENTION) == prefixes
    for table in Base.metadata.tables.values():
        for column in table.columns:
            # Every datetime is aware UTC; a plain DateTime column would let naive ones in.
            assert not isinstance(column.type, sa.DateTime), column
            if isinstance(column.type, UtcDateTime):
                assert column.name.endswith("_at"), column
            if isinstance(column.type, sa.Date):
                assert column.name.endswith(("_on", "birthday")), column
        for item in (*table.constraints, *table.indexes):
            name = str(item.name or "")
            assert name.split("_")[0] in prefixes and table.name in name, (table.name, name)
