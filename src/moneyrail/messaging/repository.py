"""SQL for messages, templates and provider events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.pagination import PageParams, paginate_by_key
from moneyrail.messaging.models import Message, MessageTemplate, ProviderEvent


class MessagingRepository:
    async def add(self, session: AsyncSession, row: Any) -> None:
        session.add(row)
        await session.flush()

    async def message(
        self, session: AsyncSession, *, tenant_id: str, message_id: str
    ) -> Message | None:
        return await session.scalar(
            select(Message).where(Message.tenant_id == tenant_id, Message.id == message_id)
        )

    async def message_any_tenant(self, session: AsyncSession, message_id: str) -> Message | None:
        """For the worker and provider callbacks (row-level security bypassed by the caller)."""
        return await session.scalar(select(Message).where(Message.id == message_id))

    async def message_by_provider_id(
        self, session: AsyncSession, *, provider: str, provider_message_id: str
    ) -> Message | None:
        return await session.scalar(
            select(Message).where(
                Message.provider == provider, Message.provider_message_id == provider_message_id
            )
        )

    async def template(
        self, session: AsyncSession, *, tenant_id: str, id_or_name: str
    ) -> MessageTemplate | None:
        return await session.scalar(
            select(MessageTemplate).where(
                MessageTemplate.tenant_id == tenant_id,
                or_(MessageTemplate.id == id_or_name, MessageTemplate.name == id_or_name),
            )
        )

    async def templates(
        self, session: AsyncSession, *, tenant_id: str, page: PageParams
    ) -> Sequence[MessageTemplate]:
        stmt = select(MessageTemplate).where(MessageTemplate.tenant_id == tenant_id)
        return (
            await session.scalars(paginate_by_key(stmt, MessageTemplate.id.expression, page))
        ).all()

    async def record_event(self, session: AsyncSession, values: dict[str, Any]) -> bool:
        """Store a provider event once; False when its id was seen before."""
        inserted = await session.scalar(
            insert(ProviderEvent)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["provider", "event_id"])
            .returning(ProviderEvent.event_id)
        )
        return inserted is not None

    async def events_for(
        self, session: AsyncSession, *, provider: str, provider_message_id: str
    ) -> Sequence[ProviderEvent]:
        return (
            await session.scalars(
                select(ProviderEvent)
                .where(
                    ProviderEvent.provider == provider,
                    ProviderEvent.provider_message_id == provider_message_id,
                )
                .order_by(ProviderEvent.received_at)
            )
        ).all()

    async def outbox_attempts(self, session: AsyncSession, event_id: str) -> int:
        return int(
            await session.scalar(
                text("SELECT attempts FROM outbox_events WHERE id = :id"), {"id": event_id}
            )
            or 0
        )


repository = MessagingRepository()
