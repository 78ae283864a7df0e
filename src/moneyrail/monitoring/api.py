"""Health, readiness, liveness, Prometheus metrics and statistics. No credentials needed for
the health probes and metrics (they carry no tenant data, and probes and scrapers have none);
statistics need the `monitoring:read` scope."""

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
from moneyrail.monitoring import service
from moneyrail.monitoring.auth import MonitoringRead

router = APIRouter(tags=["monitoring"])
# Statistics describe the whole installation: tenant administrators and platform admins.
STARTED_AT = time.time()


def _cache(request: Request) -> Cache:
    cache = request.app.state.cache
    return cache  # type: ignore[no-any-return]


@router.get("/health", summary="Basic health")
async def health() -> dict[str, Any]:
    return {"status": "ok", "version": __version__}


@router.get("/monitoring/health/live", summary="Liveness: the process answers")
async def live() -> dict[str, Any]:
    return {"status": "alive", "uptime_seconds": round(time.time() - STARTED_AT, 1)}


@router.get(
    "/monitoring/health/ready",
    summary="Readiness: the database answers",
    responses={503: {"description": "The database is unreachable"}},
)
async def ready(request: Request) -> JSONResponse:
    db = await service.database_health(database_of(request).engine)
    status = 200 if db["status"] == "up" else 503
    return JSONResponse(
        {"status": "ready" if status == 200 else "not_ready", "checks": {"database": db}},
        status_code=status,
    )


@router.get("/monitoring/health/detailed", summary="Database and cache status with latency")
async def detailed(request: Request) -> JSONResponse:
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


@router.get("/monitoring/metrics", summary="Prometheus metrics", response_class=Response)
async def prometheus_metrics(request: Request) -> Response:
    return metrics_response(request)


@router.get("/monitoring/stats/system", summary="CPU, memory and disk")
async def system(subject: MonitoringRead) -> dict[str, Any]:
    return service.system_stats()


@router.get("/monitoring/stats/cache", summary="Cache statistics")
async def cache_stats(request: Request, subject: MonitoringRead) -> dict[str, Any]:
    return await _cache(request).stats()
