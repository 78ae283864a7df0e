"""SQL for webhook endpoints, deliveries and attempts (the only place that has any)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.pagination import PageParams, paginate_by_key
from moneyrail.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@dataclass(frozen=True)
class ClaimedDelivery:
    tenant_id: str
    id: str
    endpoint_id: str
    event_id: str
    body: str
    attempt: int
    attempts_allowed: int
    lease: datetime
    url: str | None
    enabled: bool
    secret_enc: str | None
    previous_secret_enc: str | None
    previous_secret_expires_at: datetime | None


class WebhookRepository:
    # --- endpoints ------------------------------------------------------------------------

    async def add(self, session: AsyncSession, row: Any) -> None:
        session.add(row)
        await session.flush()

    async def endpoint(
        self, session: AsyncSession, *, tenant_id: str, endpoint_id: str
    ) -> WebhookEndpoint | None:
        return await session.scalar(
            select(WebhookEndpoint).where(
                WebhookEndpoint.tenant_id == tenant_id,
                WebhookEndpoint.id == endpoint_id,
                WebhookEndpoint.deleted_at.is_(None),
            )
        )

    async def endpoints(
        self, session: AsyncSession, *, tenant_id: str, page: PageParams
    ) -> Sequence[WebhookEndpoint]:
        stmt = select(WebhookEndpoint).where(
            WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.deleted_at.is_(None)
        )
        return (
            await session.scalars(paginate_by_key(stmt, WebhookEndpoint.id.expression, page))
        ).all()

    async def count_endpoints(self, session: AsyncSession, *, tenant_id: str) -> int:
        return int(
            await session.scalar(
                select(func.count()).where(
                    WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.deleted_at.is_(None)
                )
            )
            or 0
        )

    async def subscribed_endpoints(
        self, session: AsyncSession, *, tenant_id: str
    ) -> Sequence[tuple[str, list[str]]]:
        rows = await session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
                WebhookEndpoint.tenant_id == tenant_id,
                WebhookEndpoint.enabled.is_(True),
                WebhookEndpoint.deleted_at.is_(None),
            )
        )
        return [(r[0], list(r[1])) for r in rows]

    # --- deliveries -----------------------------------------------------------------------

    async def insert_deliveries(self, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        """Insert deliveries; one per (endpoint, event), so a repeated fan-out adds nothing."""
        if not rows:
            return
        stmt = insert(WebhookDelivery).on_conflict_do_nothing(
            index_elements=["tenant_id", "endpoint_id", "event_id"]
        )
        await session.execute(stmt, rows)

    async def delivery(
        self, session: AsyncSession, *, tenant_id: str, delivery_id: str
    ) -> WebhookDelivery | None:
        return await session.scalar(
            select(WebhookDelivery).where(
                WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.id == delivery_id
            )
        )

    async def deliveries(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        page: PageParams,
        endpoint_id: str | None,
        event_type: str | None,
        status: str | None,
    ) -> Sequence[WebhookDelivery]:
        stmt = select(WebhookDelivery).where(WebhookDelivery.tenant_id == tenant_id)
        if endpoint_id:
            stmt = stmt.where(WebhookDelivery.endpoint_id == endpoint_id)
        if event_type:
            stmt = stmt.where(WebhookDelivery.event_type == event_type)
        if status:
            stmt = stmt.where(WebhookDelivery.status == status)
        return (
            await session.scalars(paginate_by_key(stmt, WebhookDelivery.id.expression, page))
        ).all()

    async def attempts(
        self, session: AsyncSession, *, tenant_id: str, delivery_id: str
    ) -> Sequence[WebhookAttempt]:
        return (
            await session.scalars(
                select(WebhookAttempt)
                .where(
                    WebhookAttempt.tenant_id == tenant_id,
                    WebhookAttempt.delivery_id == delivery_id,
                )
                .order_by(WebhookAttempt.attempt)
            )
        ).all()

    async def requeue(
        self, session: AsyncSession, *, delivery: WebhookDelivery, now: datetime
    ) -> None:
        """One more attempt, due now."""
        delivery.status = "pending"
        delivery.attempts_allowed = delivery.attempts + 1
        delivery.next_attempt_at = now
        delivery.locked_until = None
        delivery.updated_at = now
        await session.flush()

    async def make_due(
        self, session: AsyncSession, *, tenant_id: str, now: datetime, include_failed: bool
    ) -> int:
        statuses = ["pending", "failed"] if include_failed else ["pending"]
        result = await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.status.in_(statuses))
            .values(
                status="pending",
                next_attempt_at=now,
                attempts_allowed=func.greatest(
                    WebhookDelivery.attempts_allowed, WebhookDelivery.attempts + 1
                ),
                updated_at=now,
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # --- the worker's side ----------------------------------------------------------------

    async def claim(
        self, session: AsyncSession, *, limit: int, lease_seconds: float, worker_id: str
    ) -> list[ClaimedDelivery]:
        """Lease due deliveries (and ones whose worker's lease ran out) and open an attempt
        row for each; SKIP LOCKED keeps concurrent workers off each other's rows."""
        rows = (
            await session.execute(
                text(
                    """
                    WITH due AS (
                        SELECT tenant_id, id FROM webhook_deliveries
                        WHERE (status = 'pending' AND next_attempt_at <= now())
                           OR (status = 'processing' AND locked_until < now())
                        ORDER BY next_attempt_at
                        LIMIT :limit
                        FOR UPDATE SKIP LOCKED
                    )
                    UPDATE webhook_deliveries d
                    SET status = 'processing',
                        attempts = d.attempts + 1,
                        locked_until = clock_timestamp() + make_interval(secs => :lease),
                        updated_at = now()
                    FROM due
                    WHERE d.tenant_id = due.tenant_id AND d.id = due.id
                    RETURNING d.tenant_id, d.id, d.endpoint_id, d.event_id, d.body, d.attempts,
                              d.attempts_allowed, d.locked_until
                    """
                ),
                {"limit": limit, "lease": lease_seconds},
            )
        ).all()
        if not rows:
            return []
        started_at = datetime.now(UTC)
        # An attempt left open by a worker that died is closed as abandoned.
        await session.execute(
            text(
                """
                UPDATE webhook_attempts SET finished_at = now(),
                    error = coalesce(error, 'abandoned: the worker stopped before finishing')
                WHERE finished_at IS NULL
                  AND (tenant_id, delivery_id) IN (SELECT unnest(CAST(:t AS text[])),
                                                          unnest(CAST(:d AS text[])))
                """
            ),
            {"t": [r.tenant_id for r in rows], "d": [r.id for r in rows]},
        )
        await session.execute(
            insert(WebhookAttempt).on_conflict_do_nothing(),
            [
                {
                    "tenant_id": r.tenant_id,
                    "delivery_id": r.id,
                    "attempt": r.attempts,
                    "worker_id": worker_id,
                    "started_at": started_at,
                }
                for r in rows
            ],
        )
        endpoints = {
            (e.tenant_id, e.id): e
            for e in (
                await session.scalars(
                    select(WebhookEndpoint).where(
                        text(
                            "(tenant_id, id) IN (SELECT unnest(CAST(:et AS text[])), "
                            "unnest(CAST(:ei AS text[])))"
                        ).bindparams(
                            et=[r.tenant_id for r in rows], ei=[r.endpoint_id for r in rows]
                        )
                    )
                )
            ).all()
        }
        claimed = []
        for r in rows:
            e = endpoints.get((r.tenant_id, r.endpoint_id))
            usable = e is not None and e.deleted_at is None
            claimed.append(
                ClaimedDelivery(
                    tenant_id=r.tenant_id,
                    id=r.id,
                    endpoint_id=r.endpoint_id,
                    event_id=r.event_id,
                    body=r.body,
                    attempt=r.attempts,
                    attempts_allowed=r.attempts_allowed,
                    lease=r.locked_until,
                    url=e.url if usable and e else None,
                    enabled=bool(usable and e and e.enabled),
                    secret_enc=e.secret_enc if e else None,
                    previous_secret_enc=e.previous_secret_enc if e else None,
                    previous_secret_expires_at=e.previous_secret_expires_at if e else None,
                )
            )
        return claimed

    async def finish(self, session: AsyncSession, outcomes: list[dict[str, Any]]) -> int:
        """Record attempts and move each delivery on, only where this worker's lease holds."""
        if not outcomes:
            return 0
        await session.execute(
            text(
                """
                UPDATE webhook_attempts SET finished_at = :finished_at,
                    status_code = :status_code, latency_ms = :latency_ms,
                    response_body = :response_body, error = :error
                WHERE tenant_id = :tenant_id AND delivery_id = :id AND attempt = :attempt
                """
            ),
            outcomes,
        )
        moved = await session.execute(
            text(
                """
                UPDATE webhook_deliveries d SET status = u.status, locked_until = NULL,
                    next_attempt_at = coalesce(u.next_at, d.next_attempt_at),
                    last_status_code = u.code, last_error = u.error,
                    delivered_at = u.delivered_at, updated_at = now()
                FROM unnest(
                    CAST(:tenant_ids AS text[]), CAST(:ids AS text[]),
                    CAST(:leases AS timestamptz[]), CAST(:statuses AS text[]),
                    CAST(:next_ats AS timestamptz[]), CAST(:codes AS int[]),
                    CAST(:errors AS text[]), CAST(:delivered_ats AS timestamptz[])
                ) AS u(tenant_id, id, lease, status, next_at, code, error, delivered_at)
                WHERE d.tenant_id = u.tenant_id AND d.id = u.id AND d.locked_until = u.lease
                  AND d.status = 'processing'
                RETURNING d.id
                """
            ),
            {
                "tenant_ids": [o["tenant_id"] for o in outcomes],
                "ids": [o["id"] for o in outcomes],
                "leases": [o["lease"] for o in outcomes],
                "statuses": [o["status"] for o in outcomes],
                "next_ats": [o["next_attempt_at"] for o in outcomes],
                "codes": [o["status_code"] for o in outcomes],
                "errors": [o["error"] for o in outcomes],
                "delivered_ats": [o["delivered_at"] for o in outcomes],
            },
        )
        return len(moved.all())

    async def release(self, session: AsyncSession, claimed: list[ClaimedDelivery]) -> None:
        """Hand back leased deliveries never attempted (shutdown): not counted as attempts."""
        for c in claimed:
            await session.execute(
                text(
                    """
                    UPDATE webhook_deliveries SET status = 'pending', locked_until = NULL,
                        attempts = attempts - 1, updated_at = now()
                    WHERE tenant_id = :t AND id = :i AND locked_until = :lease
                    """
                ),
                {"t": c.tenant_id, "i": c.id, "lease": c.lease},
            )
            await session.execute(
                text(
                    "DELETE FROM webhook_attempts WHERE tenant_id = :t AND delivery_id = :i "
                    "AND attempt = :a AND finished_at IS NULL"
                ),
                {"t": c.tenant_id, "i": c.id, "a": c.attempt},
            )


repository = WebhookRepository()
