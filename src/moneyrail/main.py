"""The ASGI application: lifespan, middleware, error handlers and every domain's router."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response

from moneyrail import __version__
from moneyrail.core import pagination
from moneyrail.core.browser import (
    CORSMiddleware,
    SecurityHeaders,
    cors_options,
    security_headers,
)
from moneyrail.core.cache import create_cache
from moneyrail.core.db import Database, create_engine
from moneyrail.core.errors import install_error_handlers
from moneyrail.core.http import RequestContextMiddleware
from moneyrail.core.json_guard import JSONGuardMiddleware
from moneyrail.core.logging import configure_logging
from moneyrail.core.ratelimit import RateLimitMiddleware
from moneyrail.core.routing import mount
from moneyrail.core.settings import Settings, get_settings
from moneyrail.core.tracing import configure_tracing
from moneyrail.domains import DOMAINS, optional_module

API_PREFIX = "/api/v1"

DESCRIPTION = """
moneyrail is a self-hosted, multi-tenant fintech backend: a double-entry ledger and core
banking, payments across providers, BBPS bill payments, broker trading and messaging behind
one authenticated, audited and idempotent API.

* Money is `{"amount": 12345, "currency": "INR"}` in integer minor units.
* Errors are RFC 9457 `application/problem+json` with a stable `code` and the `request_id`.
* Lists are cursor-paginated: pass `next_cursor` back as `cursor`.
* POSTs that move money require an `Idempotency-Key` header.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_safe_to_start()
    configure_logging(level=settings.log_level, json=settings.json_logs)
    pagination.configure(settings.secret_key)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owns_db = getattr(app.state, "db", None) is None
        if owns_db:
            app.state.db = Database(create_engine(settings))
        app.state.cache = create_cache(
            redis_url=settings.redis_url,
            prefix=settings.cache_prefix,
            default_ttl_seconds=settings.cache_ttl,
        )
        for hook in _domain_hooks("startup"):
            await hook(app)
        _freeze_startup_objects()
        try:
            yield
        finally:
            for hook in _domain_hooks("shutdown"):
                await hook(app)
            await app.state.cache.close()
            if owns_db:
                await app.state.db.dispose()

    app = FastAPI(
        title="moneyrail",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=[{"name": name, "description": text} for name, text in DOMAINS.items()],
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url="/redoc",
        openapi_url="/openapi.json",
        debug=False,
    )
    app.state.settings = settings
    app.state.db = None
    install_error_handlers(app)
    app.state.fallback_headers = security_headers(settings)
    # Outermost first: security headers on every answer; request id, access log, metrics
    # and the body-size limit; CORS (preflights answered before any limit); rate limits;
    # then the JSON guard, so a body is read and scanned only for a request let through.
    app.add_middleware(JSONGuardMiddleware)
    app.add_middleware(RateLimitMiddleware)
    cors = cors_options(settings)
    if cors is not None:
        app.add_middleware(CORSMiddleware, **cors)
    # Outermost: request ids and the security headers on every response, 413s included.
    security = SecurityHeaders(hsts=settings.is_production)
    app.add_middleware(RequestContextMiddleware, headers_for=security.headers_for)

    for domain in DOMAINS:
        module = optional_module(f"{domain}.api")
        if module is not None:
            mount(app, module.router, prefix=API_PREFIX)

    sandbox = optional_module("sandbox.app")
    if sandbox is not None and settings.sandbox_mounted:
        # Provider simulators served in-process at /sandbox/<provider> (never in production).
        app.mount("/sandbox", sandbox.create_sandbox_app())

    @app.get("/metrics", include_in_schema=False)
    async def root_metrics(request: Request) -> Response:
        # The operators' surface: the METRICS_TOKEN bearer token (404 in production unset).
        from moneyrail.monitoring.api import metrics_response
        from moneyrail.monitoring.auth import operator_access

        operator_access(request)
        return metrics_response(request)

    configure_tracing(
        app,
        endpoint=settings.otel_exporter_otlp_endpoint,
        service_name=settings.otel_service_name,
    )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


_frozen = False


def _freeze_startup_objects() -> None:
    """Move what startup built (modules, routes, models, metadata) out of the collector's
    reach, once per process: full collections then walk only what requests allocate, so
    their pauses (which stall every request in flight) shrink several times."""
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = True


def _domain_hooks(kind: str) -> list[Any]:
    hooks = []
    for domain in DOMAINS:
        module = optional_module(f"{domain}.lifecycle")
        if module is not None and hasattr(module, kind):
            hooks.append(getattr(module, kind))
    return hooks


def _depends_on(dependant: Any, call: Any) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    from moneyrail.auth.deps import SECURITY_SCHEMES, requires_credentials
    from moneyrail.core import openapi
    from moneyrail.core.db import get_session
    from moneyrail.core.idempotency import idempotency_mode
    from moneyrail.core.ratelimit import route_group

    app.openapi_schema = openapi.build(
        app,
        authenticated=lambda route: requires_credentials(route.dependant),
        idempotent=lambda route: idempotency_mode(route) is not None,
        rate_limited=lambda path: route_group(path) is not None,
        uses_database=lambda route: _depends_on(route.dependant, get_session),
        security_schemes=SECURITY_SCHEMES,
    )
    return app.openapi_schema


def openapi_document() -> str:
    """The OpenAPI document as committed in `openapi.json` (independent of configuration)."""
    import json

    app = create_app(
        Settings(environment="test", database_url="postgresql+asyncpg://openapi@localhost/openapi")
    )
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"
