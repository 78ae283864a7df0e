"""The worker's webhooks work: fan each outbox event out to the tenant's subscribed endpoints,
and deliver those deliveries signed (the `webhooks.deliveries` pump)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.jobs import PumpContext, handles_every_event, pump, worker_settings
from moneyrail.webhooks.delivery import DeliveryPump
from moneyrail.webhooks.service import webhooks

DELIVERIES_PUMP = "webhooks.deliveries"


@handles_every_event
async def fan_out(session: AsyncSession, events: Sequence[dict[str, Any]]) -> None:
    """One delivery per subscribed endpoint, in the transaction that completes the events, so
    each endpoint gets each event exactly once."""
    await webhooks.fan_out_many(session, settings=worker_settings(session), envelopes=list(events))


@pump(DELIVERIES_PUMP)
def deliveries(context: PumpContext) -> DeliveryPump:
    return DeliveryPump(settings=context.settings, db=context.db, worker_id=context.worker_id)
