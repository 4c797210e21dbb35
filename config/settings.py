"""Settings for every rulebank process, read from `RULEBANK_*` environment variables.

This is the only module that reads the environment; everything else receives a `Settings`
(or one of its groups) from a composition root. Groups nest with `__`, so
`RULEBANK_DATABASE__URL` sets `database.url`. The flat names the issues and docs use,
`RULEBANK_DATABASE_URL` and `RULEBANK_TEMPORAL_ADDRESS`, are accepted too; an explicit nested
value or constructor argument wins over the flat one. Defaults run everything on a laptop.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import AliasChoices, BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class DatabaseSettings(BaseModel):
    # Relative to the current directory: `make run` keeps its state under `.rulebank/`.
    # repr=False: a production URL carries the database password.
    url: str = Field(default="sqlite:///.rulebank/rulebank.db", repr=False)
    echo: bool = False


class TemporalSettings(BaseModel):
    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "rulebank"
    # False: the API stores events without routing them and answers campaign control with 503
    # (for API-only deployments and tests); the worker and `rulebank run` ignore it.
    enabled: bool = True
    connect_timeout_s: float = Field(default=5.0, gt=0)
    # How long a stopping worker lets running activities (a page of sends) finish.
    graceful_shutdown_s: float = Field(default=10.0, ge=0)
    # A schedule fire missed by at most this (server down) still runs; older ones need an
    # operator's explicit trigger, so a restarted laptop never sends last week's campaigns.
    catchup_window_s: int = Field(default=3600, ge=10)
    # The embedded dev server of `rulebank run`: listens on `address`'s port, keeps its state
    # in `dev_server_db` (relative to the current directory, like the database default).
    dev_server_db: Path = Path(".rulebank/temporal.db")
    ui_port: int = Field(default=8233, ge=1, le=65535)
    dev_server_path: Path | None = None  # default: the `temporal` next to the Python interpreter


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Request bodies (rule files, event batches) above this are refused before parsing.
    max_body_bytes: int = Field(default=1_000_000, gt=0)
    page_size_max: int = Field(default=500, gt=0)


class DeliverySettings(BaseModel):
    # Unset channels are dry runs in dev (outbox recorded, nothing leaves); in prod their
    # messages fail and are listed (GET /v1/messages?status=failed).
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_from: str = "noreply@bank.example"
    sms_gateway_url: str | None = None
    push_gateway_url: str | None = None
    # A credential: SecretStr keeps it out of reprs, logs and error messages.
    gateway_token: SecretStr | None = None
    gateway_batch_size: int = Field(default=100, ge=1, le=1000)  # messages per HTTP request
    gateway_concurrency: int = Field(default=4, ge=1, le=64)  # requests in flight per send
    timeout_s: float = Field(default=10.0, gt=0)  # per gateway request or SMTP command
    # Transient failures are retried in place this many times (with backoff) before the
    # activity fails and Temporal's retry policy takes over.
    retries: int = Field(default=2, ge=0, le=10)
    retry_backoff_s: float = Field(default=0.2, ge=0)
    # Template sandbox caps: a template is reviewed code, but a loop must not stall a campaign.
    # CPU time of one file's render (not wall time, compiling or GC: see delivery/templates.py).
    # The heaviest shipped template takes ~0.05 ms, and a page of 100 runaway renders at 50 ms
    # costs 5 s, inside the page activity's 15 s heartbeat.
    render_timeout_ms: int = Field(default=50, gt=0)
    max_output_chars: int = Field(default=100_000, gt=0)
    # What `bank.*` renders as, per locale; the first locale is the fallback.
    bank_name: dict[str, str] = {"zh_CN": "示例银行", "en": "Example Bank"}
    bank_hotline: str = "95500"
    # Email footers link here with a per-customer token (HMAC of the customer id).
    unsubscribe_base_url: str = "https://bank.example/unsubscribe"
    unsubscribe_secret: SecretStr = SecretStr("dev-only-unsubscribe-secret")


class Settings(BaseSettings):
    """All settings; construct directly with overrides in tests, use `get_settings()` elsewhere."""

    model_config = SettingsConfigDict(
        env_prefix="RULEBANK_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    environment: Literal["dev", "prod"] = "dev"
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    # Message templates (<channel>/<locale>/<name>); relative to the current directory like the
    # database default. When the folder is missing, rule files compile without template checks.
    templates_dir: Path = Path("templates")

    # Flat aliases; folded into their groups below and left out of dumps.
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("RULEBANK_DATABASE_URL"),
        exclude=True,
        repr=False,
    )
    temporal_address: str | None = Field(
        default=None,
        validation_alias=AliasChoices("RULEBANK_TEMPORAL_ADDRESS"),
        exclude=True,
        repr=False,
    )

    @model_validator(mode="after")
    def _fold_flat_aliases(self) -> Self:
        if self.database_url and "url" not in self.database.model_fields_set:
            self.database = self.database.model_copy(update={"url": self.database_url})
        if self.temporal_address and "address" not in self.temporal.model_fields_set:
            self.temporal = self.temporal.model_copy(update={"address": self.temporal_address})
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
