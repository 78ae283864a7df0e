"""Rate limits per API key, user/client or IP, per route group (the `limits` library).

Moving windows in Redis when REDIS_URL is set (shared by every process), in process memory
otherwise. Groups and defaults:

    auth           anonymous auth endpoints (sign-up, token, OTP…)
                   RATE_LIMIT_ANONYMOUS      20/minute per IP
    admin          /api/v1/admin/*
                   RATE_LIMIT_ADMIN          30/minute per caller
    api            every other endpoint under /api/v1 (health, metrics, JWKS exempt)
                   RATE_LIMIT_REQUESTS per RATE_LIMIT_PERIOD seconds (100/60) per caller
    auth_failures  401 answers on api and admin routes
                   RATE_LIMIT_AUTH_FAILURES  30/minute per IP

The caller is the API key, or the user/client of a verified JWT (the identity domain
registers how to tell), else the client IP. Each group's rate can be replaced with
RATE_LIMIT_OVERRIDES (`{"api": "1000/minute"}`).

A request to a protected route (api, admin) without valid credentials is answered by the
route (401 problem+json), and every 401 counts against the client IP's `auth_failures`
budget (RATE_LIMIT_AUTH_FAILURES, 30/minute): once that is spent, the IP's requests to
protected routes get 429 until it clears, unless they carry a verified JWT. (An API key
cannot be verified without the database, so made-up keys, each a budget of its own, are
still held to the IP's failure budget.) A process learns that an IP is blocked from its own
401s (the count itself is shared in Redis), so the check costs nothing per request. Every limited response carries `RateLimit-Limit`,
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
# Answers of 401 on protected routes, counted per client IP.
AUTH_FAILURES = "auth_failures"
PROTECTED_GROUPS = frozenset({"api", "admin"})
REQUEST_COUNT_TTL_SECONDS = 2 * 86_400
ALL_TENANTS = "*"

# Tells who a credential belongs to without a database query (None: unknown, use the IP).
CredentialIdentifier = Callable[[str, Any], str | None]
_identifiers: list[CredentialIdentifier] = []


def register_credential_identifier(identifier: CredentialIdentifier) -> None:
    if identifier not in _identifiers:
        _identifiers.append(identifier)


@dataclass(frozen=True)
class RateLimitConfig:
    enabled: bool
    groups: dict[str, RateLimitItem] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimitConfig:
        enabled = settings.rate_limit_enabled
        if enabled is None:
            enabled = settings.environment is not Environment.test
        groups: dict[str, RateLimitItem] = {
            "auth": parse(settings.rate_limit_anonymous),
            "admin": parse(settings.rate_limit_admin),
            "api": RateLimitItemPerSecond(settings.rate_limit_requests, settings.rate_limit_period),
            AUTH_FAILURES: parse(settings.rate_limit_auth_failures),
        }
        groups.update({group: parse(rate) for group, rate in settings.rate_limit_overrides.items()})
        return cls(enabled=enabled, groups=groups)


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


def ip_of(scope: Scope) -> str:
    client = scope.get("client")
    return f"ip:{client[0] if client else 'unknown'}"


def _verified(caller: str) -> bool:
    """A caller named by a verified credential (a JWT's subject), not by an unchecked API key
    or the client IP."""
    return not caller.startswith(("ip:", "key:"))


def caller_of(scope: Scope, group: str) -> str:
    ip = ip_of(scope)
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
        # IP -> (monotonic deadline, decision): IPs whose 401 budget is spent.
        self.blocked: dict[str, tuple[float, Decision]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        application = scope.get("app")
        group = route_group(scope["path"])
        decision: Decision | None = None
        config = config_of(application) if application is not None else None
        limited = config is not None and group is not None and config.enabled
        caller = ""
        if limited:
            assert group is not None
            caller = caller_of(scope, group)
            if group in PROTECTED_GROUPS and not _verified(caller):
                refused = self._blocked_decision(ip_of(scope))
                if refused is not None:
                    await self._refuse(scope, send, refused)
                    return
            decision = await self._decide(application, group, caller)
        if decision is not None and not decision.allowed:
            await self._refuse(scope, send, decision)
            return
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if decision is not None:
                    headers = [*message.get("headers", []), *decision.headers()]
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers if limited else send)
        if limited and status == 401 and group in PROTECTED_GROUPS:
            await self._auth_failed(application, scope)
        if application is not None and group is not None:
            await self._count(application, scope)

    def _blocked_decision(self, ip: str) -> Decision | None:
        if not self.blocked:
            return None
        entry = self.blocked.get(ip)
        if entry is None:
            return None
        deadline, decision = entry
        left = math.ceil(deadline - time.monotonic())
        if left <= 0:
            del self.blocked[ip]
            return None
        return Decision(False, decision.limit, 0, left)

    async def _auth_failed(self, application: Any, scope: Scope) -> None:
        ip = ip_of(scope)
        decision = await self._decide(application, AUTH_FAILURES, ip)
        if decision is None or decision.remaining > 0:
            return
        # Spent: further requests from this IP are refused here until the window clears.
        if len(self.blocked) >= bounds.ratelimit_blocked_ips_max:
            now = time.monotonic()
            for key in [k for k, (deadline, _) in self.blocked.items() if deadline <= now]:
                del self.blocked[key]
            if len(self.blocked) >= bounds.ratelimit_blocked_ips_max:
                self.blocked.pop(next(iter(self.blocked)))
        self.blocked[ip] = (time.monotonic() + max(1, decision.reset_after), decision)
        log.warning("ratelimit.auth_failures_exceeded", client=ip)

    async def _decide(self, application: Any, group: str, caller: str) -> Decision | None:
        item = config_of(application).groups.get(group)
        if item is None:
            return None
        try:
            return await limiter_of(application).hit(item, group, caller)
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
