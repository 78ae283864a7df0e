"""Outbox handlers: the worker sends queued messages."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.outbox import EventEnvelope, handles
from moneyrail.core.settings import Settings, get_settings
from moneyrail.messaging.service import SEND_EVENT, messaging


@handles(SEND_EVENT)
async def send_message(session: AsyncSession, event: EventEnvelope) -> None:
    settings = session.info.get("moneyrail.settings")
    await messaging.deliver(
        session,
        settings=settings if isinstance(settings, Settings) else get_settings(),
        message_id=event.data["message_id"],
        event_id=event.id,
    )
