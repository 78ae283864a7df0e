"""The ASGI application: lifespan, middleware, error handlers and every domain's router."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from moneyrail import __version__
from moneyrail.core.cache import create_cache
from moneyrail.core.db import Database, create_engine
from moneyrail.core.errors import install_error_handlers
from moneyrail.core.http import RequestContextMiddleware
from moneyrail.core.logging import configure_logging
from moneyrail.core.ratelimit import RateLimitMiddleware
from moneyrail.core.routing import mount
from moneyrail.core.settings import Settings, get_settings
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
    # Inside the request-context middleware, so a 429 carries the request id and is counted.
    app.add_middleware(RateLimitMiddleware)
    app.add_middleware(RequestContextMiddleware)

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
        from moneyrail.monitoring.api import metrics_response

        return metrics_response(request)

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


def _declare_security(app: FastAPI, schema: dict[str, Any]) -> None:
    """Both credential schemes on every operation whose dependencies authenticate the caller
    (authentication reads its headers itself, so FastAPI cannot see the schemes)."""
    from moneyrail.auth.deps import SECURITY_SCHEMES, requires_credentials

    schema.setdefault("components", {}).setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    requirement: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not requires_credentials(route.dependant):
            continue
        operations = schema.get("paths", {}).get(context.path_format, {})
        for method in route.methods or ():
            operation = operations.get(method.lower())
            if operation is not None:
                operation.setdefault("security", requirement)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    _declare_security(app, schema)
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = {
        "type": "object",
        "description": "RFC 9457 problem details",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string", "description": "Stable machine-readable error code"},
            "request_id": {"type": "string", "nullable": True},
            "errors": {"type": "array", "items": {"type": "object"}},
        },
    }
    app.openapi_schema = schema
    return schema
