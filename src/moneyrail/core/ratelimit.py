"""Rate limits per API key, user/client or IP, per route group (the `limits` library).

Moving windows in Redis when REDIS_URL is set (shared by every process), in process memory
otherwise. Groups and defaults:

    auth   anonymous auth endpoints (sign-up, token, OTP…)   RATE_LIMIT_ANONYMOUS  20/minute per IP
    admin  /api/v1/admin/*                                  RATE_LIMIT_ADMIN      30/minute per caller
    api    every other authenticated endpoint               RATE_LIMIT_REQUESTS per RATE_LIMIT_PERIOD
                                                            seconds (100/60) per caller

The caller is the API key, or the user/client of a verified JWT (the identity domain
registers how to tell), else the client IP. Every limited response carries `RateLimit-Limit`,
`RateLimit-Remaining` and `RateLimit-Reset`; a refused one is a 429 problem+json with
`Retry-After`. A limiter storage failure lets requests through (logged) rather than fail them.
Limits are off under ENVIRONMENT=test unless RATE_LIMIT_ENABLED=true.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moneyrail.core import limits as bounds
from moneyrail.core.settings import Environment, Settings

log = structlog.get_logger(__name__)

API_PREFIX = "/api/v1"
ANONYMOUS_AUTH_PATHS = frozenset(
    f"{API_PREFIX}/auth/{name}"
    for name in (
        "signup",
        "token",
        "signin",
        "request-otp",
        "otp-login",
        "refresh",
        "logout",
        "revoke",
        "introspect",
    )
)
EXEMPT_PREFIXES = (
    f"{API_PREFIX}/health",
    f"{API_PREFIX}/monitoring/health/",
    f"{API_PREFIX}/monitoring/metrics",
    f"{API_PREFIX}/.well-known/",
)
REQUEST_COUNT_TTL_SECONDS = 2 * 86_400
ALL_TENANTS = "*"

# Tells who a credential belongs to without a database query (None: unknown, use the IP).
CredentialIdentifier = Callable[[str, Any], str | None]
_identifiers: list[CredentialIdentifier] = []


def register_credential_identifier(identifier: CredentialIdentifier) -> None:
    if identifier not in _identifiers:
        _identifiers.append(identifier)


class RateLimitSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    rate_limit_enabled: bool | None = None
    rate_limit_admin: str = "30/minute"
    rate_limit_anonymous: str = "20/minute"


@dataclass(frozen=True)
class RateLimitConfig:
    enabled: bool
    groups: dict[str, RateLimitItem] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls, settings: Settings, extra: RateLimitSettings | None = None
    ) -> RateLimitConfig:
        extra = extra or RateLimitSettings()
        enabled = extra.rate_limit_enabled
        if enabled is None:
            enabled = settings.environment is not Environment.test
        return cls(
            enabled=enabled,
            groups={
                "auth": parse(extra.rate_limit_anonymous),
                "admin": parse(extra.rate_limit_admin),
                "api": RateLimitItemPerSecond(
                    settings.rate_limit_requests, settings.rate_limit_period
                ),
            },
        )


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset_after).encode()),
        ]
        if not self.allowed:
            headers.append((b"retry-after", str(max(1, self.reset_after)).encode()))
        return headers


class RateLimiter:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.strategy = MovingWindowRateLimiter(storage)

    @property
    def backend(self) -> str:
        return "redis" if isinstance(self.storage, RedisStorage) else "memory"

    async def hit(self, item: RateLimitItem, group: str, caller: str) -> Decision:
        allowed = await self.strategy.hit(item, group, caller)
        stats = await self.strategy.get_window_stats(item, group, caller)
        reset_after = max(0, math.ceil(stats.reset_time - time.time()))
        return Decision(allowed, item.amount, max(0, stats.remaining), reset_after)

    async def count_request(self, tenant_id: str) -> None:
        await self.storage.incr(_day_key(tenant_id), REQUEST_COUNT_TTL_SECONDS)
        await self.storage.incr(_day_key(ALL_TENANTS), REQUEST_COUNT_TTL_SECONDS)

    async def requests_today(self, tenant_id: str | None) -> int:
        """Authenticated requests of a tenant today (UTC); None: of every tenant."""
        return int(await self.storage.get(_day_key(tenant_id or ALL_TENANTS)) or 0)

    async def close(self) -> None:
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        closer = getattr(client, "aclose", None)
        if closer is not None:
            await closer()


def _day_key(tenant_id: str) -> str:
    return f"requests/{tenant_id}/{datetime.now(UTC):%Y%m%d}"


def create_rate_limiter(redis_url: str | None, *, prefix: str = "moneyrail:") -> RateLimiter:
    if redis_url:
        scheme, _, rest = redis_url.partition("://")
        uri = f"async+{scheme}://{rest}"
        storage = RedisStorage(
            uri,
            key_prefix=prefix + "ratelimit",
            implementation="redispy",
            # A slow or absent Redis must not hold requests up: fail open quickly instead.
            socket_timeout=bounds.ratelimit_redis_timeout_seconds,
            socket_connect_timeout=bounds.ratelimit_redis_timeout_seconds,
        )
        return RateLimiter(storage)
    return RateLimiter(MemoryStorage())


def limiter_of(app: Any) -> RateLimiter:
    """The app's limiter (created on first use from its settings)."""
    limiter = getattr(app.state, "rate_limiter", None)
    if limiter is None:
        settings = app.state.settings
        limiter = create_rate_limiter(settings.redis_url, prefix=settings.cache_prefix)
        app.state.rate_limiter = limiter
    assert isinstance(limiter, RateLimiter)
    return limiter


async def close_rate_limiter(app: Any) -> None:
    limiter = getattr(app.state, "rate_limiter", None)
    if isinstance(limiter, RateLimiter):
        app.state.rate_limiter = None
        await limiter.close()


def config_of(app: Any) -> RateLimitConfig:
    config = getattr(app.state, "rate_limits", None)
    if config is None:
        config = RateLimitConfig.from_settings(app.state.settings)
        app.state.rate_limits = config
    assert isinstance(config, RateLimitConfig)
    return config


def route_group(path: str) -> str | None:
    if not path.startswith(API_PREFIX + "/") or path.startswith(EXEMPT_PREFIXES):
        return None
    if path.rstrip("/") in ANONYMOUS_AUTH_PATHS:
        return "auth"
    if path.startswith(f"{API_PREFIX}/admin/") or path == f"{API_PREFIX}/admin":
        return "admin"
    return "api"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def caller_of(scope: Scope, group: str) -> str:
    client = scope.get("client")
    ip = f"ip:{client[0] if client else 'unknown'}"
    if group == "auth":
        return ip
    credential = _header(scope, b"x-api-key")
    if credential is None:
        authorization = _header(scope, b"authorization") or ""
        scheme, _, value = authorization.partition(" ")
        credential = value.strip() if scheme.lower() == "bearer" and value.strip() else None
    if credential is None:
        return ip
    for identifier in _identifiers:
        try:
            found = identifier(credential, scope.get("app"))
        except Exception:
            found = None
        if found:
            return found
    return ip


def credential_digest(credential: str) -> str:
    return hashlib.sha256(credential.encode()).hexdigest()[:32]


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        application = scope.get("app")
        group = route_group(scope["path"])
        decision: Decision | None = None
        if application is not None and group is not None and config_of(application).enabled:
            decision = await self._decide(application, scope, group)
        if decision is not None and not decision.allowed:
            await self._refuse(scope, send, decision)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and decision is not None:
                message = {**message, "headers": [*message.get("headers", []), *decision.headers()]}
            await send(message)

        await self.app(scope, receive, send_with_headers if decision else send)
        if application is not None and group is not None:
            await self._count(application, scope)

    async def _decide(self, application: Any, scope: Scope, group: str) -> Decision | None:
        item = config_of(application).groups.get(group)
        if item is None:
            return None
        try:
            return await limiter_of(application).hit(item, group, caller_of(scope, group))
        except Exception as exc:
            log.warning("ratelimit.unavailable", error_type=type(exc).__name__)
            return None

    async def _count(self, application: Any, scope: Scope) -> None:
        subject = scope.get("state", {}).get("subject")
        tenant_id = getattr(subject, "tenant_id", None)
        if not isinstance(tenant_id, str):
            return
        try:
            await limiter_of(application).count_request(tenant_id)
        except Exception as exc:
            log.warning("ratelimit.count_failed", error_type=type(exc).__name__)

    async def _refuse(self, scope: Scope, send: Send, decision: Decision) -> None:
        request_id = scope.get("state", {}).get("request_id")
        body = json.dumps(
            {
                "type": "https://moneyrail.dev/problems/rate_limited",
                "title": "Too many requests",
                "status": 429,
                "detail": f"rate limit of {decision.limit} requests exceeded; "
                f"retry in {max(1, decision.reset_after)} seconds",
                "code": "rate_limited",
                "request_id": request_id,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    *decision.headers(),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
