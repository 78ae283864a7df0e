"""SQL for refunds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.payments.models import (
    Refund,
)


class RefundsRepository:
    async def add(self, session: AsyncSession, row: Any) -> None:
        session.add(row)
        await session.flush()

    async def refund(
        self, session: AsyncSession, *, tenant_id: str, refund_id: str, lock: bool = False
    ) -> Refund | None:
        stmt = select(Refund).where(Refund.tenant_id == tenant_id, Refund.id == refund_id)
        if lock:
            stmt = stmt.with_for_update()
        return await session.scalar(stmt.execution_options(populate_existing=lock))

    async def refund_by_provider_id(
        self, session: AsyncSession, *, tenant_id: str, provider: str, provider_refund_id: str
    ) -> Refund | None:
        stmt = select(Refund).where(
            Refund.tenant_id == tenant_id,
            Refund.provider == provider,
            Refund.provider_refund_id == provider_refund_id,
        )
        return await session.scalar(stmt.with_for_update())

    async def refunds_of(
        self, session: AsyncSession, *, tenant_id: str, payment_id: str
    ) -> Sequence[Refund]:
        stmt = (
            select(Refund)
            .where(Refund.tenant_id == tenant_id, Refund.payment_id == payment_id)
            .order_by(Refund.id)
            .with_for_update()
        )
        return (await session.scalars(stmt)).all()

    async def refund_totals(
        self, session: AsyncSession, *, tenant_id: str, payment_id: str
    ) -> tuple[int, int]:
        """(pending + succeeded, succeeded) refund sums of one payment, in minor units."""
        stmt = select(
            func.coalesce(func.sum(Refund.amount).filter(Refund.status != "failed"), 0),
            func.coalesce(func.sum(Refund.amount).filter(Refund.status == "succeeded"), 0),
        ).where(Refund.tenant_id == tenant_id, Refund.payment_id == payment_id)
        reserved, succeeded = (await session.execute(stmt)).one()
        return int(reserved), int(succeeded)

    async def unlinked_pending_refund(
        self, session: AsyncSession, *, tenant_id: str, payment_id: str, amount: int
    ) -> Refund | None:
        """A refund we asked for whose answer never came (no provider id yet)."""
        stmt = (
            select(Refund)
            .where(
                Refund.tenant_id == tenant_id,
                Refund.payment_id == payment_id,
                Refund.status == "pending",
                Refund.provider_refund_id.is_(None),
                Refund.amount == amount,
            )
            .order_by(Refund.id)
            .limit(1)
            .with_for_update()
        )
        return await session.scalar(stmt)

    async def in_flight_due(
        self, session: AsyncSession, *, before: datetime, limit: int
    ) -> Sequence[tuple[str, str]]:
        """(tenant, payment) of refunds in flight since before `before`, oldest first, one
        row per payment (caller bypasses RLS)."""
        oldest = func.min(Refund.created_at)
        stmt = (
            select(Refund.tenant_id, Refund.payment_id)
            .where(Refund.status == "in_flight", Refund.created_at < before)
            .group_by(Refund.tenant_id, Refund.payment_id)
            .order_by(oldest)
            .limit(limit)
        )
        return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


repository = RefundsRepository()
