"""Settings: the RULEBANK_ prefix, nested groups, the flat aliases and the cached accessor."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from config.settings import Settings, get_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No RULEBANK_ variable from the developer's shell or CI leaks into these tests."""

    for name in list(os.environ):
        if name.upper().startswith("RULEBANK_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults_run_everything_locally() -> None:
    settings = Settings()
    assert settings.environment == "dev"
    assert settings.database.url == "sqlite:///.rulebank/rulebank.db"
    assert settings.database.echo is False
    assert settings.temporal.address == "127.0.0.1:7233"
    assert settings.temporal.namespace == "default"
    assert settings.temporal.task_queue == "rulebank"
    assert (settings.api.host, settings.api.port) == ("127.0.0.1", 8000)
    assert settings.api.max_body_bytes == 1_000_000
    assert settings.api.page_size_max == 500
    assert settings.delivery.gateway_token is None


def test_prefixed_nested_variables(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("RULEBANK_ENVIRONMENT", "prod")
    clean_env.setenv("RULEBANK_API__PORT", "9001")
    clean_env.setenv("RULEBANK_DATABASE__ECHO", "true")
    clean_env.setenv("RULEBANK_TEMPORAL__TASK_QUEUE", "campaigns")
    clean_env.setenv("RULEBANK_DELIVERY__SMTP_HOST", "smtp.bank.example")
    clean_env.setenv("API__PORT", "1")  # unprefixed: not ours
    settings = Settings()
    assert settings.environment == "prod"
    assert settings.api.port == 9001
    assert settings.database.echo is True
    assert settings.temporal.task_queue == "campaigns"
    assert settings.delivery.smtp_host == "smtp.bank.example"


def test_flat_database_url_and_temporal_address(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("RULEBANK_DATABASE_URL", "postgresql+psycopg://rb@db/rulebank")
    clean_env.setenv("RULEBANK_TEMPORAL_ADDRESS", "temporal:7233")
    settings = Settings()
    assert settings.database.url == "postgresql+psycopg://rb@db/rulebank"
    assert settings.temporal.address == "temporal:7233"
    assert "database_url" not in settings.model_dump()


def test_explicit_values_win_over_the_flat_alias(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("RULEBANK_DATABASE_URL", "sqlite:///flat.db")
    assert Settings(database={"url": "sqlite:///given.db"}).database.url == "sqlite:///given.db"
    clean_env.setenv("RULEBANK_DATABASE__URL", "sqlite:///nested.db")
    assert Settings().database.url == "sqlite:///nested.db"


def test_invalid_values_are_refused(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("RULEBANK_ENVIRONMENT", "staging")
    with pytest.raises(ValidationError):
        Settings()
    with pytest.raises(ValidationError):
        Settings(api={"port": 0})


def test_secrets_stay_out_of_reprs(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("RULEBANK_DELIVERY__GATEWAY_TOKEN", "tok-123")
    clean_env.setenv("RULEBANK_DATABASE_URL", "postgresql+psycopg://rb:hunter2@db/rulebank")
    settings = Settings()
    assert settings.delivery.gateway_token is not None
    assert settings.delivery.gateway_token.get_secret_value() == "tok-123"
    assert "tok-123" not in repr(settings)
    assert "hunter2" not in repr(settings)


def test_get_settings_is_cached(clean_env: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    try:
        clean_env.setenv("RULEBANK_API__PORT", "8123")
        first = get_settings()
        clean_env.setenv("RULEBANK_API__PORT", "8124")
        assert get_settings() is first
        assert first.api.port == 8123
    finally:
        get_settings.cache_clear()
