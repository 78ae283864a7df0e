"""Checks the subscription tests of several connectors share."""

from __future__ import annotations

from typing import Any

from moneyrail.connectors.base import SubscriptionStatus


async def pause_resume_cancel(connector: Any, subscription_id: str) -> None:
    """Pause, resume (and read it back active), then cancel: each answers the new status."""
    sid = subscription_id
    paused = await connector.pause_subscription(sid, idempotency_key="pause-1")
    assert paused.status is SubscriptionStatus.paused
    resumed = await connector.resume_subscription(sid, idempotency_key="resume-1")
    assert resumed.status is SubscriptionStatus.active
    assert (await connector.get_subscription(sid)).status is SubscriptionStatus.active
    cancelled = await connector.cancel_subscription(sid, idempotency_key="cancel-1")
    assert cancelled.status is SubscriptionStatus.cancelled
