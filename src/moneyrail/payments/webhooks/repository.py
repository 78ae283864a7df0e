"""SQL for inbound provider events."""

from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.payments.models import (
    InboundEvent,
    Payment,
    ProviderAccount,
    Subscription,
)


class InboundEventsRepository:
    async def record_event(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        provider: str,
        event_id: str,
        event_type: str,
        object_type: str,
        object_id: str | None,
        outcome: str,
    ) -> bool:
        """Insert the event's key; False when it was already there (a redelivery)."""
        stmt = (
            insert(InboundEvent)
            .values(
                tenant_id=tenant_id,
                provider=provider,
                event_id=event_id[:255],
                event_type=event_type[:100],
                object_type=object_type[:32],
                object_id=object_id[:128] if object_id else None,
                outcome=outcome,
            )
            .on_conflict_do_nothing()
            .returning(InboundEvent.event_id)
        )
        return (await session.scalar(stmt)) is not None

    async def has_provider_footprint(
        self, session: AsyncSession, *, tenant_id: str, provider: str
    ) -> bool:
        """Whether the tenant stored credentials for, paid through or subscribed with it."""
        exists_account = select(ProviderAccount.provider).where(
            and_(ProviderAccount.tenant_id == tenant_id, ProviderAccount.provider == provider)
        )
        exists_payment = select(Payment.id).where(
            Payment.tenant_id == tenant_id, Payment.provider == provider
        )
        exists_subscription = select(Subscription.id).where(
            Subscription.tenant_id == tenant_id, Subscription.provider == provider
        )
        stmt = select(
            exists_account.exists() | exists_payment.exists() | exists_subscription.exists()
        )
        return bool(await session.scalar(stmt))


repository = InboundEventsRepository()
