"""Razorpay webhooks: `X-Razorpay-Signature`, the hex HMAC-SHA256 of the body keyed with the
webhook secret (no timestamp), the event id in `X-Razorpay-Event-Id`; and a verified body
read as a `WebhookEvent`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from moneyrail.connectors.base import InvalidWebhookSignature, WebhookEvent
from moneyrail.connectors.signing import any_matches, hmac_sha256_hex, usable_secrets
from moneyrail.connectors.values import unix_timestamp


def razorpay_signature(body: bytes, secret: str) -> str:
    return hmac_sha256_hex(secret, body)


def verify_razorpay(*, signature: str | None, body: bytes, secrets: Sequence[str]) -> None:
    usable = usable_secrets(secrets)
    if not signature:
        raise InvalidWebhookSignature("X-Razorpay-Signature header is missing")
    if not any_matches((razorpay_signature(body, s) for s in usable), [signature.strip()]):
        raise InvalidWebhookSignature("the Razorpay signature does not match the body")


def event_of(body: bytes, *, event_id: str | None) -> WebhookEvent:
    """A verified Razorpay event body as a `WebhookEvent`; without an `X-Razorpay-Event-Id`
    the event id is a digest of the body."""
    try:
        event = json.loads(body)
        payload = event["payload"]
        contains = [str(c) for c in event.get("contains") or payload]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidWebhookSignature("the signed body is not a Razorpay event") from exc
    object_type, object_id = "other", None
    for kind in ("refund", "subscription", "payment", "order"):
        if kind in contains and isinstance(payload.get(kind), dict):
            entity = payload[kind].get("entity") or {}
            object_type = "payment" if kind in ("payment", "order") else kind
            object_id = entity.get("order_id") if kind == "payment" else entity.get("id")
            object_id = object_id or entity.get("id")
            break
    return WebhookEvent(
        provider="razorpay",
        event_id=event_id or hashlib.sha256(body).hexdigest(),
        event_type=str(event.get("event") or ""),
        object_type=object_type,
        object_id=str(object_id) if object_id else None,
        occurred_at=unix_timestamp(event.get("created_at")),
        payload=event,
    )
