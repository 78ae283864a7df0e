"""Outbox handlers: the worker sends queued messages."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.jobs import handles, worker_settings
from moneyrail.core.outbox import EventEnvelope
from moneyrail.messaging.service import SEND_EVENT, messaging


@handles(SEND_EVENT)
async def send_message(session: AsyncSession, event: EventEnvelope) -> None:
    await messaging.deliver(
        session,
        settings=worker_settings(session),
        message_id=event.data["message_id"],
        event_id=event.id,
    )
