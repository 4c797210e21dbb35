"""The database-backed CLI groups: `db upgrade`, `users add`, `api`, `audit verify|export`."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli.main import app
from config.settings import get_settings
from services.users import authenticate
from store.audit import AuditEntry
from store.session import make_engine, make_session_factory, session_scope
from store.user import Role

runner = CliRunner()


@pytest.fixture
def use_db(monkeypatch):
    """Point the CLI's settings at `url` (settings are cached per process)."""

    def _use(url: str) -> str:
        monkeypatch.setenv("RULEBANK_DATABASE_URL", url)
        get_settings.cache_clear()
        return url

    yield _use
    get_settings.cache_clear()


def _run(*args: str):
    return runner.invoke(app, list(args))


def test_unmigrated_database_is_refused_clearly(use_db, sqlite_url):
    use_db(sqlite_url)
    for args in (["users", "add", "nina", "--role", "admin"], ["api"], ["audit", "verify"]):
        result = _run(*args)
        assert result.exit_code == 2, args
        assert "never migrated" in result.stderr and "rulebank db upgrade" in result.stderr
        assert "Traceback" not in result.output + result.stderr


def test_db_upgrade_then_users_add(use_db, sqlite_url):
    use_db(sqlite_url)
    first = _run("db", "upgrade")
    assert first.exit_code == 0 and "upgraded from an empty database" in first.stdout
    assert "already at revision" in _run("db", "upgrade").stdout

    added = _run("users", "add", "nina", "--role", "compliance")
    assert added.exit_code == 0, added.stderr
    key = added.stdout.strip()
    assert key.startswith("rbk_") and "not shown again" in added.stderr
    engine = make_engine(sqlite_url)
    with session_scope(make_session_factory(engine)) as session:
        assert authenticate(session, key).role is Role.COMPLIANCE
    engine.dispose()
    again = _run("users", "add", "nina", "--role", "compliance")
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert _run("users", "add", "olga", "--role", "root").exit_code == 2


def test_api_builds_the_app_and_serves_it(use_db, api_db_url, monkeypatch):
    use_db(api_db_url)
    served = {}
    monkeypatch.setattr(
        "uvicorn.run", lambda app, host, port: served.update(app=app, host=host, port=port)
    )
    result = _run("api", "--host", "0.0.0.0", "--port", "8123")
    assert result.exit_code == 0, result.stderr
    assert (served["host"], served["port"]) == ("0.0.0.0", 8123)
    assert "/v1/rulesets" in served["app"].openapi()["paths"]


def test_audit_verify_and_export(use_db, api_db_url, database_url, keys, tmp_path):
    use_db(api_db_url)
    ok = _run("audit", "verify")
    assert ok.exit_code == 0 and f"{len(keys)} entries verified" in ok.stdout
    head = ok.stdout.split("head (next --anchor): ")[1].strip()
    assert head.startswith(f"{len(keys)}:")
    assert _run("audit", "verify", "--anchor", head).exit_code == 0
    beyond = f"{len(keys) + 1}:{head.partition(':')[2]}"
    assert _run("audit", "verify", "--anchor", beyond).exit_code == 1
    assert _run("audit", "verify", "--anchor", "3:not-a-hash").exit_code == 2
    out = tmp_path / "audit.jsonl"
    exported = _run("audit", "export", "--output", str(out), "--since", "2000-01-01T00:00+00:00")
    assert exported.exit_code == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["seq"] for line in lines] == list(range(1, len(keys) + 1))
    assert _run("audit", "export", "--since", "2000-01-01").exit_code == 2
    assert len(_run("audit", "export").stdout.splitlines()) == len(keys)
    if database_url.startswith("postgresql"):
        return  # the table refuses UPDATE there; tampering is a SQLite-only scenario
    engine = make_engine(api_db_url)
    with engine.begin() as connection:
        connection.execute(
            sa.update(AuditEntry).where(AuditEntry.seq == 3).values(detail={"role": "admin"})
        )
    engine.dispose()
    broken = _run("audit", "verify")
    assert broken.exit_code == 1 and "broken at seq 3" in broken.stderr
