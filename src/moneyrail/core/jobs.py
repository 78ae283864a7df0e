"""The worker's registry: what the worker runs, registered by each domain in its `tasks.py`.

Three kinds of work, all registered at import time (`moneyrail.domains.load_tasks` imports
every domain's `tasks` module before the worker asks for any of them):

* **Outbox handlers** — run for an event in the transaction that marks it done:

      @handles("message.send")
      async def send(session: AsyncSession, event: EventEnvelope) -> None: ...

  and handlers of *every* event, given batches of the stored envelopes (a batch of events
  without per-type handlers is completed in one transaction):

      @handles_every_event
      async def fan_out(session: AsyncSession, events: Sequence[dict[str, Any]]) -> None: ...

  A handler that raises rolls the event's transaction back; the event is retried on
  `outbox_retry_schedule_seconds` (backoff with jitter) and then dead-lettered (`failed`).

* **Scheduled jobs** — one transaction per run, row-level security bypassed (jobs are
  platform work), at most once per interval across every worker on the database:

      @schedule(every_seconds=60, name="ledger.expire_pending")
      async def expire(session: AsyncSession) -> None: ...

* **Pumps** — a domain's own claim loop over its own table (leased rows, FOR UPDATE SKIP
  LOCKED), built once per worker process from the worker's settings and database:

      @pump("webhooks.deliveries")
      def deliveries(context: PumpContext) -> Pump[ClaimedDelivery]: ...

  The worker runs `pump.lanes` loops of claim(`pump.batch_size`) → process; when it is
  stopped mid-batch it calls release() with what it could not finish.

Handlers read the worker's settings with `worker_settings(session)`.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core import limits
from moneyrail.core.db import Database
from moneyrail.core.outbox import EventEnvelope
from moneyrail.core.settings import Settings, get_settings


def _load_tasks() -> None:
    from moneyrail.domains import load_tasks

    load_tasks()


# --- the worker's settings, as handlers see them ----------------------------------------------

SETTINGS_KEY = "moneyrail.settings"


def worker_settings(session: AsyncSession) -> Settings:
    """The settings of the worker running this handler (the process settings elsewhere)."""
    settings = session.info.get(SETTINGS_KEY)
    return settings if isinstance(settings, Settings) else get_settings()


# --- outbox handlers --------------------------------------------------------------------------

EventHandler = Callable[[AsyncSession, EventEnvelope], Awaitable[None]]
# Every event, in batches: the envelopes exactly as stored in the outbox.
BatchHandler = Callable[[AsyncSession, Sequence[dict[str, Any]]], Awaitable[None]]

_handlers: dict[str, list[EventHandler]] = {}
_batch_handlers: list[BatchHandler] = []


def handles(*event_types: str) -> Callable[[EventHandler], EventHandler]:
    """Register an outbox handler for these event types."""

    def decorator(handler: EventHandler) -> EventHandler:
        for event_type in event_types:
            registered = _handlers.setdefault(event_type, [])
            if handler not in registered:
                registered.append(handler)
        return handler

    return decorator


def handles_every_event(handler: BatchHandler) -> BatchHandler:
    """Register a handler that sees every event (after the event's own handlers)."""
    if handler not in _batch_handlers:
        _batch_handlers.append(handler)
    return handler


def handlers_for(event_type: str) -> list[EventHandler]:
    """The handlers of one event type (every domain's `tasks` module loaded first)."""
    _load_tasks()
    return list(_handlers.get(event_type, ()))


def every_event_handlers() -> list[BatchHandler]:
    _load_tasks()
    return list(_batch_handlers)


def unregister_handler(event_type: str, handler: EventHandler) -> None:
    registered = _handlers.get(event_type, [])
    if handler in registered:
        registered.remove(handler)
    if not registered:
        _handlers.pop(event_type, None)


# --- scheduled jobs ---------------------------------------------------------------------------

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
    _load_tasks()
    return list(_jobs.values())


def unregister_job(name: str) -> None:
    _jobs.pop(name, None)


# --- pumps: a domain's own claim loop ---------------------------------------------------------

ClaimedT = TypeVar("ClaimedT")


class Pump(Protocol[ClaimedT]):
    """Claim a batch of leased rows, process it, or hand it back untouched."""

    lanes: int  # loops the worker runs at once for this pump
    batch_size: int  # rows claimed per step

    async def claim(self, limit: int) -> list[ClaimedT]: ...

    async def process(self, claimed: list[ClaimedT]) -> None: ...

    async def release(self, claimed: list[ClaimedT]) -> None: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class PumpContext:
    settings: Settings
    db: Database
    worker_id: str


PumpFactory = Callable[[PumpContext], Pump[Any]]


@dataclass(frozen=True)
class PumpSpec:
    name: str
    factory: PumpFactory


_pumps: dict[str, PumpSpec] = {}


def pump(name: str) -> Callable[[PumpFactory], PumpFactory]:
    """Register a factory the worker calls once to build this pump."""

    def decorator(factory: PumpFactory) -> PumpFactory:
        _pumps[name] = PumpSpec(name=name, factory=factory)
        return factory

    return decorator


def registered_pumps() -> list[PumpSpec]:
    _load_tasks()
    return list(_pumps.values())


def unregister_pump(name: str) -> None:
    _pumps.pop(name, None)


# --- retries: bounded, exponential schedule, jitter -------------------------------------------


def attempts_allowed(schedule: Sequence[float]) -> int:
    """The first attempt plus one retry per scheduled delay."""
    return 1 + len(schedule)


def delay_before_retry(
    schedule: Sequence[float], *, retry: int, jitter_ratio: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait before retry number `retry` (1-based); past the schedule, its last step."""
    if not schedule:
        return 0.0
    base = schedule[min(retry, len(schedule)) - 1]
    spread = base * max(0.0, min(jitter_ratio, 1.0))
    delay = base + (rng or random).uniform(-spread, spread)
    return max(0.0, min(delay, limits.webhook_retry_delay_seconds_max))
