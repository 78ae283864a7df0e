"""SQL for subscriptions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.payments.models import (
    Subscription,
)


class SubscriptionsRepository:
    async def add(self, session: AsyncSession, row: Any) -> None:
        session.add(row)
        await session.flush()

    async def subscription(
        self, session: AsyncSession, *, tenant_id: str, subscription_id: str, lock: bool = False
    ) -> Subscription | None:
        stmt = select(Subscription).where(
            Subscription.tenant_id == tenant_id, Subscription.id == subscription_id
        )
        if lock:
            stmt = stmt.with_for_update()
        return await session.scalar(stmt.execution_options(populate_existing=lock))

    async def subscription_by_provider_id(
        self, session: AsyncSession, *, tenant_id: str, provider: str, provider_subscription_id: str
    ) -> Subscription | None:
        stmt = select(Subscription).where(
            Subscription.tenant_id == tenant_id,
            Subscription.provider == provider,
            Subscription.provider_subscription_id == provider_subscription_id,
        )
        return await session.scalar(stmt.with_for_update())


repository = SubscriptionsRepository()
