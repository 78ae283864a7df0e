"""SQL for the outbox relay and the scheduled-job ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class ClaimedEvent:
    id: str
    type: str
    tenant_id: str
    payload: dict[str, Any]
    attempts: int
    lease: datetime


class WorkerRepository:
    async def claim_events(
        self, session: AsyncSession, *, limit: int, lease_seconds: float
    ) -> list[ClaimedEvent]:
        """Lease pending events (and ones whose worker's lease ran out), oldest first."""
        rows = (
            await session.execute(
                text(
                    """
                    WITH due AS (
                        SELECT id FROM outbox_events
                        WHERE (status = 'pending' AND available_at <= now())
                           OR (status = 'processing' AND locked_until < now())
                        ORDER BY seq
                        LIMIT :limit
                        FOR UPDATE SKIP LOCKED
                    )
                    UPDATE outbox_events o
                    SET status = 'processing', attempts = o.attempts + 1,
                        locked_until = clock_timestamp() + make_interval(secs => :lease)
                    FROM due WHERE o.id = due.id
                    RETURNING o.id, o.type, o.tenant_id, o.payload, o.attempts, o.locked_until,
                              o.seq
                    """
                ),
                {"limit": limit, "lease": lease_seconds},
            )
        ).all()
        return [
            ClaimedEvent(r.id, r.type, r.tenant_id, r.payload, r.attempts, r.locked_until)
            for r in sorted(rows, key=lambda r: r.seq)
        ]

    async def complete_events(self, session: AsyncSession, events: list[ClaimedEvent]) -> int:
        """Mark done where this worker's lease still holds; the count that were."""
        if not events:
            return 0
        done = await session.execute(
            text(
                """
                UPDATE outbox_events o SET status = 'done', locked_until = NULL,
                    processed_at = now(), last_error = NULL
                FROM unnest(CAST(:ids AS text[]), CAST(:leases AS timestamptz[])) AS u(id, lease)
                WHERE o.id = u.id AND o.status = 'processing' AND o.locked_until = u.lease
                RETURNING o.id
                """
            ),
            {"ids": [e.id for e in events], "leases": [e.lease for e in events]},
        )
        return len(done.all())

    async def reschedule_event(
        self,
        session: AsyncSession,
        *,
        event: ClaimedEvent,
        error: str,
        retry_in_seconds: float | None,
    ) -> None:
        """Back to pending after `retry_in_seconds`, or `failed` when None."""
        await session.execute(
            text(
                """
                UPDATE outbox_events
                SET status = CASE WHEN CAST(:retry AS float8) IS NULL THEN 'failed'
                                  ELSE 'pending' END,
                    available_at = now() + make_interval(secs => coalesce(:retry, 0)),
                    locked_until = NULL, last_error = :error
                WHERE id = :id AND locked_until = :lease
                """
            ),
            {"id": event.id, "lease": event.lease, "error": error, "retry": retry_in_seconds},
        )

    async def release_events(self, session: AsyncSession, events: list[ClaimedEvent]) -> None:
        """Hand leased events back untouched (shutdown before they were processed)."""
        if not events:
            return
        await session.execute(
            text(
                """
                UPDATE outbox_events SET status = 'pending', locked_until = NULL,
                    attempts = greatest(attempts - 1, 0)
                WHERE id = :id AND locked_until = :lease
                """
            ),
            [{"id": e.id, "lease": e.lease} for e in events],
        )

    async def start_job(self, session: AsyncSession, *, name: str, every_seconds: float) -> bool:
        """Claim this interval's run of a job; False when another worker already has."""
        claimed = await session.scalar(
            text(
                """
                INSERT INTO worker_job_runs (name, last_started_at) VALUES (:name, now())
                ON CONFLICT (name) DO UPDATE SET last_started_at = now()
                WHERE worker_job_runs.last_started_at
                      <= now() - make_interval(secs => :every)
                RETURNING name
                """
            ),
            {"name": name, "every": every_seconds},
        )
        return claimed is not None

    async def finish_job(self, session: AsyncSession, *, name: str, error: str | None) -> None:
        await session.execute(
            text(
                "UPDATE worker_job_runs SET last_finished_at = now(), last_error = :error "
                "WHERE name = :name"
            ),
            {"name": name, "error": error},
        )


repository = WorkerRepository()
