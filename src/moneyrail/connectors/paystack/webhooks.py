"""Paystack webhooks: `x-paystack-signature` is the hex HMAC-SHA512 of the raw body keyed
with the secret key. Paystack events carry no id, so the event id is derived as
`"{event}:{data.id}:{data.status}"` (transaction id for `charge.*`, refund id for
`refund.*`): stable across redeliveries of one event, distinct for each state change."""

from __future__ import annotations

from typing import Any

from moneyrail.connectors.base import InvalidWebhookSignature, WebhookEvent
from moneyrail.connectors.signing import any_matches, hmac_hex
from moneyrail.connectors.values import iso_timestamp, webhook_json
from moneyrail.core import limits

SIGNATURE_HEADER = "x-paystack-signature"
OBJECT_TYPES = {
    "charge": "payment",
    "refund": "refund",
    "subscription": "subscription",
    "invoice": "subscription",
}


def signature(key: str, body: bytes) -> str:
    """`x-paystack-signature`: hex HMAC-SHA512 of the raw body keyed with the secret key."""
    return hmac_hex(key, body, "sha512")


def verify_signature(*, header: str | None, body: bytes, keys: tuple[str, ...]) -> None:
    """Constant-time check of the header against every key (all are compared, whichever
    matches). Raises: InvalidWebhookSignature."""
    presented = (header or "").strip().lower()
    usable = [k for k in keys if k][: limits.webhook_secrets_max]
    if not presented or not any_matches((signature(k, body) for k in usable), [presented]):
        raise InvalidWebhookSignature("x-paystack-signature does not match the body")


def event_of(body: bytes) -> WebhookEvent:
    """A verified Paystack event body as a `WebhookEvent`."""
    payload = webhook_json(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        raise InvalidWebhookSignature("webhook body is not a Paystack event")
    event_type = str(payload.get("event") or "")
    data: dict[str, Any] = payload["data"]
    object_type = OBJECT_TYPES.get(event_type.split(".", 1)[0], "other")
    if object_type == "payment":
        object_id = data.get("reference")
    elif object_type == "subscription":
        object_id = data.get("subscription_code") or data.get("id")
    else:
        object_id = data.get("id")
    return WebhookEvent(
        provider="paystack",
        event_id=f"{event_type}:{data.get('id')}:{data.get('status')}",
        event_type=event_type,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        occurred_at=iso_timestamp(data.get("paid_at") or data.get("createdAt"))
        or iso_timestamp(data.get("created_at")),
        payload=payload,
    )
