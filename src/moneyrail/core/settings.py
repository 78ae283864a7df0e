"""Process-wide settings, read from environment variables and an optional `.env` file."""

from __future__ import annotations

import json
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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
    # Every statement on the app's connections is cancelled after this long (milliseconds;
    # 0 turns the bound off); a request whose statement is cancelled answers 503.
    database_statement_timeout_ms: int = Field(default=15_000, ge=0)
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

    # Rate limits (see core/ratelimit.py). The default group: RATE_LIMIT_REQUESTS per
    # RATE_LIMIT_PERIOD seconds per caller; the other groups take `N/period` strings
    # (`20/minute`, `5 per second`, `1000/hour`). None: on everywhere but ENVIRONMENT=test.
    rate_limit_enabled: bool | None = None
    rate_limit_requests: int = Field(default=100, gt=0)
    rate_limit_period: int = Field(default=60, gt=0)
    rate_limit_admin: str = "30/minute"
    rate_limit_anonymous: str = "20/minute"
    # Requests answered 401 (no, bad or revoked credentials), per client IP; past it the IP
    # gets 429 on protected routes until the window clears.
    rate_limit_auth_failures: str = "30/minute"
    # Per-group overrides as JSON, e.g. `{"api": "1000/minute", "auth": "5/minute"}`; they
    # win over the settings above. Groups: api, admin, auth, auth_failures.
    rate_limit_overrides: dict[str, str] = Field(default_factory=dict)

    # Origins allowed to call the API from a browser (CORS): a JSON list or comma-separated
    # (`https://app.example.com,https://admin.example.com`), `*` for any. Empty: no CORS.
    cors_allow_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Seconds a browser may cache a preflight answer.
    cors_max_age: int = Field(default=600, ge=0)

    # Tracing: OpenTelemetry spans exported over OTLP/HTTP when an endpoint is set.
    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str = "moneyrail"

    request_timeout: int = 30
    max_retries: int = 3
    retry_delay: float = 1.0

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "moneyrail <no-reply@localhost>"
    smtp_starttls: bool = False

    # Bearer token for the operators' surface: /metrics, /api/v1/monitoring/metrics, host and
    # cache statistics, the detailed health check. Unset: open outside production, 404 in it.
    metrics_token: SecretStr | None = None

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
        # Only when switched on explicitly, in any environment: a tenant's webhook URL must
        # not reach the operator's internal network by default.
        return bool(self.webhook_allow_private_targets)

    @property
    def sandbox_mounted(self) -> bool:
        return self.sandbox_mount and not self.is_production

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        return normalize_database_url(value) if value else None

    @field_validator("cors_allow_origins", mode="before")
    @classmethod
    def _origin_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("cors_allow_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"CORS origin {origin!r} is neither `*` nor an http(s) origin")
        return [origin.rstrip("/") for origin in value]

    @field_validator("rate_limit_admin", "rate_limit_anonymous", "rate_limit_auth_failures")
    @classmethod
    def _rate(cls, value: str) -> str:
        _check_rate(value)
        return value

    @field_validator("rate_limit_overrides")
    @classmethod
    def _overrides(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - RATE_LIMIT_GROUPS
        if unknown:
            raise ValueError(
                f"unknown rate limit groups {sorted(unknown)}; known: {sorted(RATE_LIMIT_GROUPS)}"
            )
        for rate in value.values():
            _check_rate(rate)
        return value

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


RATE_LIMIT_GROUPS = frozenset({"api", "admin", "auth", "auth_failures"})


def _check_rate(value: str) -> None:
    from limits import parse

    try:
        item = parse(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a rate such as `20/minute`") from exc
    if item.amount <= 0:
        raise ValueError(f"{value!r} allows no request at all")


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
