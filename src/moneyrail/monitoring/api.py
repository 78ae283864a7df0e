"""Health, readiness, liveness, Prometheus metrics and statistics. The health, liveness and
readiness probes need no credentials (they carry no tenant data, and probes have none).
Metrics, host and cache statistics and the detailed health check are the operators' surface:
they describe the whole installation, so no tenant credential opens them. Metrics and the
detailed check take the `METRICS_TOKEN` bearer token (`OperatorAccess`; 404 in production
when none is set), statistics a platform administrator (`PlatformAdmin`)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from moneyrail import __version__
from moneyrail.core import metrics
from moneyrail.core.cache import Cache
from moneyrail.core.db import database_of
from moneyrail.core.errors import problem_responses
from moneyrail.monitoring import service
from moneyrail.monitoring.auth import OperatorAccess, PlatformAdmin

router = APIRouter(tags=["monitoring"])
STARTED_AT = time.time()


def _cache(request: Request) -> Cache:
    cache = request.app.state.cache
    return cache  # type: ignore[no-any-return]


@router.get("/health", summary="Basic health")
async def health() -> dict[str, Any]:
    """Answers `ok` and the running version whenever the process serves requests; public."""
    return {"status": "ok", "version": __version__}


@router.get("/monitoring/health/live", summary="Liveness: the process answers")
async def live() -> dict[str, Any]:
    """Liveness probe: answers while the process runs, with its uptime; public."""
    return {"status": "alive", "uptime_seconds": round(time.time() - STARTED_AT, 1)}


@router.get(
    "/monitoring/health/ready",
    summary="Readiness: the database answers",
    responses={503: {"description": "The database is unreachable"}},
)
async def ready(request: Request) -> JSONResponse:
    """Readiness probe: 200 when the database answers a ping within the health-check bound,
    503 when it does not; public."""
    db = await service.database_health(database_of(request).engine)
    status = 200 if db["status"] == "up" else 503
    return JSONResponse(
        {"status": "ready" if status == 200 else "not_ready", "checks": {"database": db}},
        status_code=status,
    )


@router.get(
    "/monitoring/health/detailed",
    summary="Database and cache status with latency",
    responses={
        **problem_responses(401, 404),
        503: {"description": "The database is unreachable"},
    },
)
async def detailed(request: Request, _: OperatorAccess) -> JSONResponse:
    """The database's and cache's status and latency, the version and uptime, for operators
    (the `METRICS_TOKEN` bearer token). 503 when the database is down; 401 without the token;
    404 in production when no token is configured."""
    db = await service.database_health(database_of(request).engine)
    cache = await service.cache_health(_cache(request))
    healthy = db["status"] == "up"
    return JSONResponse(
        {
            "status": "healthy" if healthy and cache["status"] == "up" else "degraded",
            "version": __version__,
            "uptime_seconds": round(time.time() - STARTED_AT, 1),
            "checks": {"database": db, "cache": cache},
        },
        status_code=200 if healthy else 503,
    )


def _refresh_pool_gauges(request: Request) -> None:
    pool: Any = database_of(request).engine.pool
    try:
        metrics.db_pool_in_use.set(pool.checkedout())
        metrics.db_pool_size.set(pool.size())
    except AttributeError:  # pools without counters (NullPool) report nothing
        pass


def metrics_response(request: Request) -> Response:
    _refresh_pool_gauges(request)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/monitoring/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses=problem_responses(401, 404),
)
async def prometheus_metrics(request: Request, _: OperatorAccess) -> Response:
    """The Prometheus text exposition (request durations by route template, pool gauges,
    build info), for the operators' scraper: `Authorization: Bearer <METRICS_TOKEN>`. 401
    without the token; 404 in production when no token is configured."""
    return metrics_response(request)


@router.get(
    "/monitoring/stats/system",
    summary="CPU, memory and disk",
    responses=problem_responses(401, 403),
)
async def system(_: PlatformAdmin) -> dict[str, Any]:
    """The host's CPU, load, memory and disk figures and this process's memory and threads,
    for platform administrators only; a tenant's administrator gets 403."""
    return service.system_stats()


@router.get(
    "/monitoring/stats/cache",
    summary="Cache statistics",
    responses=problem_responses(401, 403),
)
async def cache_stats(request: Request, _: PlatformAdmin) -> dict[str, Any]:
    """The shared cache's backend and counters (every tenant's entries together), for
    platform administrators only; a tenant's administrator gets 403."""
    return await _cache(request).stats()
