"""Process-wide settings, read from environment variables and an optional `.env` file."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "change-me-in-production"  # noqa: S105 - a marker value, refused in production
SECRET_KEY_MIN_LENGTH = 32


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class ConfigurationError(RuntimeError):
    """Settings that make it unsafe to start; the message is one line meant for an operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    environment: Environment = Environment.development
    debug: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_json: bool | None = None
    data_dir: Path = Path(".moneyrail")

    database_url: str | None = None
    database_pool_size: int = 10
    database_max_overflow: int = 20
    database_pool_timeout: int = 30
    # Connections older than this are replaced when next checked out (seconds).
    database_pool_recycle: int = 1800
    # Test every connection with a round trip when it is checked out. Off by default: the
    # asyncpg adapter's ping costs three round trips per request, and without it a connection
    # broken by a database restart fails one request with a 503 (nothing is committed) and is
    # replaced with the rest of the pool.
    database_pool_pre_ping: bool = False
    database_echo: bool = False
    # The app switches to this non-superuser role on every connection so that row-level
    # security applies to it; empty when DATABASE_URL already names such a role.
    database_app_role: str = "moneyrail_app"

    redis_url: str | None = None
    cache_ttl: int = 300
    cache_prefix: str = "moneyrail:"

    secret_key: str = DEFAULT_SECRET_KEY
    # AES-256-GCM keys for stored secrets: `id:base64(32 bytes),…`, the first one current.
    encryption_keys: str | None = None
    access_token_expire_minutes: int = 30
    refresh_token_expire_days: int = 7

    rate_limit_requests: int = 100
    rate_limit_period: int = 60

    request_timeout: int = 30
    max_retries: int = 3
    retry_delay: float = 1.0

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "moneyrail <no-reply@localhost>"
    smtp_starttls: bool = False

    public_base_url: str = Field(default="http://127.0.0.1:8000")
    # Serve the provider sandboxes in-process under /sandbox (ignored in production).
    sandbox_mount: bool = True

    # Outbox worker and tenant webhooks. Retry delays are the waits before retries 1..n
    # (default: 5 retries over about a day), each spread by +/- the jitter ratio.
    worker_poll_interval_seconds: float = 1.0
    worker_lease_seconds: float = 60.0
    worker_batch_size: int = 100
    worker_concurrency: int = 32
    outbox_retry_schedule_seconds: list[float] = Field(
        default_factory=lambda: [5.0, 30.0, 120.0, 600.0, 3600.0]
    )
    webhook_retry_schedule_seconds: list[float] = Field(
        default_factory=lambda: [300.0, 1800.0, 7200.0, 21600.0, 57600.0]
    )
    webhook_retry_jitter_ratio: float = 0.2
    webhook_timeout_seconds: float = 10.0
    webhook_secret_overlap_hours: float = 24.0
    # Deliveries to private, loopback and link-local addresses; None means allowed outside
    # production only.
    webhook_allow_private_targets: bool | None = None

    # Messaging: platform credentials (live mode) and sandbox routing (test mode).
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    twilio_api_url: str = "https://api.twilio.com"
    resend_api_key: str | None = None
    resend_webhook_secret: str | None = None
    resend_from: str = "moneyrail <no-reply@localhost>"
    resend_api_url: str = "https://api.resend.com"
    # Where test-mode messages go; empty means the sandbox mounted under PUBLIC_BASE_URL.
    messaging_sandbox_url: str | None = None
    # "resend", "smtp", or "auto" (Resend when a key is set, else SMTP when a host is set).
    email_provider: str = "auto"
    # Credentials test-mode messages use against the sandboxes (never a real provider).
    twilio_test_account_sid: str = "AC00000000000000000000000000000000"
    twilio_test_auth_token: str = "sandbox-twilio-auth-token"  # noqa: S105 - sandbox only
    twilio_test_from: str = "+15005550006"
    resend_test_api_key: str = "re_sandbox_key"
    resend_test_webhook_secret: str = "whsec_c2FuZGJveC1yZXNlbmQtd2ViaG9vay1zZWNyZXQ="  # noqa: S105

    @property
    def webhook_private_targets_allowed(self) -> bool:
        if self.webhook_allow_private_targets is not None:
            return self.webhook_allow_private_targets
        return not self.is_production

    @property
    def sandbox_mounted(self) -> bool:
        return self.sandbox_mount and not self.is_production

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        return normalize_database_url(value) if value else None

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.production

    @property
    def json_logs(self) -> bool:
        return self.log_json if self.log_json is not None else self.is_production

    def check_safe_to_start(self) -> None:
        """Raise ConfigurationError when production would run with unsafe settings."""
        if not self.is_production:
            return
        if not self.secret_key or self.secret_key == DEFAULT_SECRET_KEY:
            raise ConfigurationError(
                "SECRET_KEY is missing or left at its default; set a random value of at least "
                f"{SECRET_KEY_MIN_LENGTH} characters before starting in production"
            )
        if len(self.secret_key) < SECRET_KEY_MIN_LENGTH:
            raise ConfigurationError(
                f"SECRET_KEY is shorter than {SECRET_KEY_MIN_LENGTH} characters; "
                "use a longer random value in production"
            )
        if self.debug:
            raise ConfigurationError("DEBUG must be off in production")


def normalize_database_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and point them at the asyncpg driver."""
    for prefix in (
        "postgresql://",
        "postgres://",
        "postgresql+psycopg://",
        "postgresql+psycopg2://",
    ):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
