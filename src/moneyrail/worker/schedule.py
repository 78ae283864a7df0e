"""Periodic jobs the worker runs, registered by domains in their `tasks.py`:

    from moneyrail.worker.schedule import schedule

    @schedule(every_seconds=60)
    async def expire_pending_transfers(session: AsyncSession) -> None: ...

Each job runs in its own transaction (row-level security bypassed: jobs are platform work),
at most once per interval across every worker on the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core import limits

JobFunc = Callable[[AsyncSession], Awaitable[None]]


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    func: JobFunc


_jobs: dict[str, Job] = {}


def schedule(every_seconds: float, *, name: str | None = None) -> Callable[[JobFunc], JobFunc]:
    """Register `func` to run every `every_seconds` (at least the worker's minimum interval)."""
    interval = max(float(every_seconds), limits.worker_job_interval_seconds_min)

    def decorator(func: JobFunc) -> JobFunc:
        job_name = name or f"{func.__module__}.{func.__qualname__}"
        _jobs[job_name] = Job(name=job_name, every_seconds=interval, func=func)
        return func

    return decorator


def registered_jobs() -> list[Job]:
    """Every job, after loading each domain's `tasks` module."""
    from moneyrail.domains import load_tasks

    load_tasks()
    return list(_jobs.values())


def unregister(name: str) -> None:
    _jobs.pop(name, None)
