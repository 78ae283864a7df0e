"""Health checks and system statistics."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import psutil
from sqlalchemy.ext.asyncio import AsyncEngine

from moneyrail.core import limits
from moneyrail.core.cache import Cache
from moneyrail.core.db import ping


async def _timed(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check, timeout=limits.health_check_timeout_seconds)
    except Exception as exc:
        return {
            "status": "down",
            "error": type(exc).__name__,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        }
    return {"status": "up", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


async def database_health(engine: AsyncEngine) -> dict[str, Any]:
    return await _timed(ping(engine))


async def cache_health(cache: Cache) -> dict[str, Any]:
    result = await _timed(cache.ping())
    result["backend"] = cache.backend
    return result


def system_stats() -> dict[str, Any]:
    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(os.getcwd())
    process = psutil.Process()
    with process.oneshot():
        rss = process.memory_info().rss
        threads = process.num_threads()
    return {
        "cpu": {"percent": psutil.cpu_percent(interval=None), "count": psutil.cpu_count()},
        "load_average": list(os.getloadavg()),
        "memory": {
            "total_bytes": memory.total,
            "available_bytes": memory.available,
            "percent": memory.percent,
        },
        "disk": {
            "total_bytes": disk.total,
            "free_bytes": disk.free,
            "percent": disk.percent,
        },
        "process": {"pid": process.pid, "rss_bytes": rss, "threads": threads},
    }
