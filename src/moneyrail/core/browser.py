"""What browsers need: security headers on every response, and CORS when origins are set.

Every response carries `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
`Referrer-Policy: no-referrer` and a Content-Security-Policy that lets a JSON answer load
nothing (`default-src 'none'`). The documentation pages (/docs, /redoc) get a policy that
allows their CDN assets and inline bootstrap script; the provider sandboxes (never mounted in
production) get none, as their hosted pages are plain HTML forms. Under
ENVIRONMENT=production responses also carry `Strict-Transport-Security`.

CORS is off unless CORS_ALLOW_ORIGINS lists origins; then Starlette's CORSMiddleware answers
preflights and lets browsers send the credential, idempotency and request-id headers, and
read the replay, rate-limit and request-id headers.
"""

from __future__ import annotations

from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moneyrail.core.settings import Settings

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# FastAPI's Swagger UI and ReDoc pages load their bundles from jsDelivr and start them with
# an inline script; ReDoc also uses Google Fonts and a blob: worker.
DOCS_CSP = (
    "default-src 'self'; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com data:; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
UNPOLICED_PREFIXES = ("/sandbox/",)
HSTS = "max-age=63072000; includeSubDomains"

CORS_ALLOW_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
CORS_ALLOW_HEADERS = [
    "Authorization",
    "Content-Type",
    "X-API-Key",
    "Idempotency-Key",
    "X-Request-ID",
]
CORS_EXPOSE_HEADERS = [
    "Idempotency-Replayed",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Retry-After",
    "X-Request-ID",
    "Location",
]


def _encoded(pairs: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode(), value.encode()) for name, value in pairs]


class SecurityHeaders:
    """Which security headers a response carries, by its path."""

    def __init__(self, *, hsts: bool = False) -> None:
        common = self._common(hsts=hsts)
        self.plain = _encoded(common)
        self.api = self.api_headers(hsts=hsts)
        self.docs = _encoded([*common, ("Content-Security-Policy", DOCS_CSP)])

    @staticmethod
    def _common(*, hsts: bool) -> list[tuple[str, str]]:
        common = [
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
        ]
        if hsts:
            common.append(("Strict-Transport-Security", HSTS))
        return common

    @classmethod
    def api_headers(cls, *, hsts: bool) -> list[tuple[bytes, bytes]]:
        return _encoded([*cls._common(hsts=hsts), ("Content-Security-Policy", API_CSP)])

    def headers_for(self, path: str) -> list[tuple[bytes, bytes]]:
        if path.startswith(UNPOLICED_PREFIXES):
            return self.plain
        if path in DOCS_PATHS or path == "/docs/oauth2-redirect":
            return self.docs
        return self.api


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response (a header the app set itself wins).

    The application adds them in its request-context middleware instead (one layer fewer);
    this stands alone for ASGI apps without it.
    """

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.policy = SecurityHeaders(hsts=hsts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.policy.headers_for(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(pair for pair in extra if pair[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def security_headers(settings: Settings) -> dict[str, str]:
    """The headers a JSON response carries, for responses sent outside the middleware stack
    (the last-resort 500 handler)."""
    return {
        name.decode(): value.decode()
        for name, value in SecurityHeaders.api_headers(hsts=settings.is_production)
    }


def cors_options(settings: Settings) -> dict[str, Any] | None:
    """CORSMiddleware's keyword arguments, or None when no origin is allowed."""
    if not settings.cors_allow_origins:
        return None
    return {
        "allow_origins": settings.cors_allow_origins,
        "allow_methods": CORS_ALLOW_METHODS,
        "allow_headers": CORS_ALLOW_HEADERS,
        "expose_headers": CORS_EXPOSE_HEADERS,
        # Credentials travel in headers, never cookies.
        "allow_credentials": False,
        "max_age": settings.cors_max_age,
    }


__all__ = [
    "CORSMiddleware",
    "SecurityHeaders",
    "SecurityHeadersMiddleware",
    "cors_options",
    "security_headers",
]
