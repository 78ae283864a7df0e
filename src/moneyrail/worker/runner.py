"""The worker process: the outbox relay, the pumps domains register (claim loops over their
own tables) and the scheduled jobs, each in its own loop, stopping gracefully: once asked to
stop it claims nothing new, finishes what it holds, and hands back (releases) whatever it
cannot finish.

What runs comes from the registry in `core.jobs`; the worker imports no domain.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from moneyrail.core import limits
from moneyrail.core.db import Database, bypass_tenant_scope, create_engine
from moneyrail.core.jobs import Job, Pump, PumpContext, registered_jobs, registered_pumps
from moneyrail.core.settings import Settings
from moneyrail.worker.relay import EventRelay
from moneyrail.worker.repository import repository

log = structlog.get_logger(__name__)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(
        self, settings: Settings, *, db: Database | None = None, worker_id: str | None = None
    ) -> None:
        self.settings = settings
        self._owns_db = db is None
        self.db = db or Database(create_engine(settings))
        self.worker_id = worker_id or default_worker_id()
        self.relay = EventRelay(settings=settings, db=self.db, worker_id=self.worker_id)
        context = PumpContext(settings=settings, db=self.db, worker_id=self.worker_id)
        self.pumps: dict[str, Pump[Any]] = {
            spec.name: spec.factory(context) for spec in registered_pumps()
        }
        self._stopping = asyncio.Event()
        self._job_checked: dict[str, float] = {}

    # --- one step of each kind (tests drive these directly) ---------------------------------

    async def events_once(self) -> int:
        return await self._pump_once(self.relay)

    async def pump_once(self, name: str) -> int:
        return await self._pump_once(self.pumps[name])

    async def pumps_once(self) -> int:
        return sum([await self._pump_once(p) for p in self.pumps.values()])

    async def jobs_once(self) -> int:
        ran = 0
        for job in registered_jobs():
            if self._stopping.is_set():
                break
            last = self._job_checked.get(job.name)
            if last is not None and time.monotonic() - last < job.every_seconds:
                continue
            self._job_checked[job.name] = time.monotonic()
            ran += await self._run_job(job)
        return ran

    async def run_once(self) -> int:
        return await self.events_once() + await self.pumps_once() + await self.jobs_once()

    async def drain(self, *, timeout_seconds: float, until: Callable[[], Awaitable[bool]]) -> None:
        """Run steps until `until()` holds (tests); raises TimeoutError past the timeout."""
        deadline = time.monotonic() + timeout_seconds
        while not await until():
            if time.monotonic() > deadline:
                raise TimeoutError("the worker did not reach the expected state in time")
            if await self.run_once() == 0:
                await asyncio.sleep(min(0.05, self.settings.worker_poll_interval_seconds))

    # --- the long-running process -----------------------------------------------------------

    def request_stop(self) -> None:
        if not self._stopping.is_set():
            log.info("worker.stopping", worker_id=self.worker_id)
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def run(self) -> None:
        log.info("worker.started", worker_id=self.worker_id)
        try:
            # A pump may run several lanes (loops) at once, e.g. to keep HTTP requests in
            # flight while another lane waits on the database.
            lanes = [
                self._loop(f"{name}-{n}", functools.partial(self._pump_once, p))
                for name, p in self.pumps.items()
                for n in range(max(1, p.lanes))
            ]
            await asyncio.gather(
                self._loop("events", self.events_once),
                *lanes,
                self._loop("jobs", self.jobs_once),
            )
        finally:
            await self.aclose()
            log.info("worker.stopped", worker_id=self.worker_id)

    async def aclose(self) -> None:
        await self.relay.aclose()
        for p in self.pumps.values():
            await p.aclose()
        if self._owns_db:
            await self.db.dispose()

    async def _loop(self, name: str, step: Callable[[], Awaitable[int]]) -> None:
        while not self._stopping.is_set():
            try:
                done = await step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away, a bug in one job: keep serving
                log.exception("worker.step_failed", loop=name, error=type(exc).__name__)
                done = 0
            if done == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._stopping.wait(), timeout=self.settings.worker_poll_interval_seconds
                    )

    async def _pump_once(self, pump: Pump[Any]) -> int:
        """Claim one batch and process it; released untouched if cancelled meanwhile."""
        if self._stopping.is_set():
            return 0
        claimed = await pump.claim(max(1, pump.batch_size))
        if claimed:
            await _finish_or_release(pump.process(claimed), lambda: pump.release(claimed))
        return len(claimed)

    async def _run_job(self, job: Job) -> int:
        async with self.db.sessionmaker() as session, session.begin():
            await bypass_tenant_scope(session)
            if not await repository.start_job(
                session, name=job.name, every_seconds=job.every_seconds
            ):
                return 0
        error: str | None = None
        try:
            async with self.db.sessionmaker() as session, session.begin():
                await bypass_tenant_scope(session)
                await job.func(session)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[: limits.webhook_attempt_error_chars_max]
            log.exception("worker.job_failed", job=job.name)
        async with self.db.sessionmaker() as session, session.begin():
            await repository.finish_job(session, name=job.name, error=error)
        return 1


async def _finish_or_release(work: Awaitable[Any], release: Callable[[], Awaitable[None]]) -> None:
    """Finish the claimed batch; if cancelled (forced shutdown), hand its leases back."""
    try:
        await work
    except asyncio.CancelledError:
        await asyncio.shield(release())
        raise


async def serve(settings: Settings, *, worker_id: str | None = None) -> None:
    """Run a worker until SIGTERM/SIGINT; a second signal (or the grace period) cancels
    what is in flight, releasing its leases."""
    import signal

    worker = Worker(settings, worker_id=worker_id)
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(worker.run())

    def on_signal() -> None:
        if worker.stopping:
            task.cancel()
            return
        worker.request_stop()
        loop.call_later(limits.worker_shutdown_grace_seconds, task.cancel)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    try:
        await task
    except asyncio.CancelledError:
        log.warning("worker.cancelled", worker_id=worker.worker_id)
