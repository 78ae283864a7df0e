"""The outbox relay: run each event's handlers, as registered in `core.jobs`.

Claim (short transaction: lease + commit) → per event, one transaction that runs its own
handlers and the every-event handlers (the webhooks domain's fan-out among them) and marks
it done only while this worker's lease still holds. Events without handlers of their own go
through the every-event handlers and are completed as one batch. A worker that dies leaves
the lease to expire; another picks the event up (at-least-once for handlers; a handler that
writes rows in the completing transaction, like the fan-out, does so exactly once).
"""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core import jobs, limits
from moneyrail.core.db import Database, bypass_tenant_scope
from moneyrail.core.outbox import EventEnvelope
from moneyrail.core.settings import Settings
from moneyrail.worker import metrics as worker_metrics
from moneyrail.worker.repository import ClaimedEvent, repository

log = structlog.get_logger(__name__)


class LeaseLost(Exception):
    """Another worker took the row over after this worker's lease ran out."""


class EventRelay:
    def __init__(self, *, settings: Settings, db: Database, worker_id: str) -> None:
        self.settings = settings
        self.db = db
        self.worker_id = worker_id
        self.semaphore = asyncio.Semaphore(
            max(1, min(settings.worker_concurrency, limits.worker_concurrency_max))
        )
        self.lanes = 1
        self.batch_size = max(1, min(settings.worker_batch_size, limits.outbox_batch_size_max))

    async def claim(self, limit: int) -> list[ClaimedEvent]:
        async with self.db.sessionmaker() as session, session.begin():
            await bypass_tenant_scope(session)
            return await repository.claim_events(
                session,
                limit=limit,
                lease_seconds=max(
                    self.settings.worker_lease_seconds, limits.worker_lease_seconds_min
                ),
            )

    async def process(self, claimed: list[ClaimedEvent]) -> None:
        has_handlers = {t: bool(jobs.handlers_for(t)) for t in {e.type for e in claimed}}
        plain = [e for e in claimed if not has_handlers[e.type]]
        handled = [e for e in claimed if has_handlers[e.type]]
        if plain:
            try:
                await self._complete_plain(plain)
            except _PartialBatch:
                # Some leases were lost: the batch rolled back; handle each on its own.
                handled = plain + handled
        await asyncio.gather(*(self._guarded(e) for e in handled))

    async def release(self, claimed: list[ClaimedEvent]) -> None:
        async with self.db.sessionmaker() as session, session.begin():
            await bypass_tenant_scope(session)
            await repository.release_events(session, claimed)

    async def aclose(self) -> None:
        pass

    async def _complete_plain(self, events: list[ClaimedEvent]) -> None:
        """Events without handlers of their own: the every-event handlers see the whole batch,
        completed in one transaction."""
        async with self.db.sessionmaker() as session, session.begin():
            await bypass_tenant_scope(session)
            session.info[jobs.SETTINGS_KEY] = self.settings
            payloads = [e.payload for e in events]
            for handler in jobs.every_event_handlers():
                await handler(session, payloads)
            done = await repository.complete_events(session, events)
            if done != len(events):
                raise _PartialBatch
        worker_metrics.outbox_events.labels("done").inc(len(events))
        log.debug("worker.events_done", count=len(events), worker_id=self.worker_id)

    async def _guarded(self, event: ClaimedEvent) -> None:
        async with self.semaphore:
            await self._one(event)

    async def _one(self, event: ClaimedEvent) -> None:
        async with self.db.sessionmaker() as session:
            try:
                async with session.begin():
                    await bypass_tenant_scope(session)
                    await self._run_handlers(session, event)
                    if await repository.complete_events(session, [event]) != 1:
                        raise LeaseLost(event.id)
                worker_metrics.outbox_events.labels("done").inc()
            except LeaseLost:
                log.warning("worker.event_lease_lost", event_id=event.id, worker_id=self.worker_id)
                return
            except Exception as exc:  # a handler failed: retry later, never crash the worker
                await self._reschedule(session, event, exc)

    async def _run_handlers(self, session: AsyncSession, event: ClaimedEvent) -> None:
        envelope = EventEnvelope.model_validate(event.payload)
        # Handlers read the worker's settings from here (`jobs.worker_settings`).
        session.info[jobs.SETTINGS_KEY] = self.settings
        for handler in jobs.handlers_for(event.type):
            await handler(session, envelope)
        for every_event in jobs.every_event_handlers():
            await every_event(session, [event.payload])

    async def _reschedule(self, session: AsyncSession, event: ClaimedEvent, exc: Exception) -> None:
        schedule = self.settings.outbox_retry_schedule_seconds
        allowed = min(jobs.attempts_allowed(schedule), limits.outbox_attempts_max)
        retry_in = (
            jobs.delay_before_retry(
                schedule,
                retry=event.attempts,
                jitter_ratio=self.settings.webhook_retry_jitter_ratio,
            )
            if event.attempts < allowed
            else None
        )
        error = f"{type(exc).__name__}: {exc}"[: limits.webhook_attempt_error_chars_max]
        worker_metrics.outbox_events.labels("retry" if retry_in is not None else "failed").inc()
        log.warning(
            "worker.event_failed",
            event_id=event.id,
            event_type=event.type,
            attempt=event.attempts,
            error=type(exc).__name__,
            dead_letter=retry_in is None,
        )
        async with session.begin():
            await bypass_tenant_scope(session)
            await repository.reschedule_event(
                session, event=event, error=error, retry_in_seconds=retry_in
            )


class _PartialBatch(Exception):
    pass
