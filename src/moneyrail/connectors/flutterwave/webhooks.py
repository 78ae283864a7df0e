"""Flutterwave webhooks: the newer `flutterwave-signature` header is the base64 HMAC-SHA256 of
the raw body keyed with the dashboard's secret hash; the legacy v3 `verif-hash` header is the
secret hash itself, compared in constant time. When `flutterwave-signature` is present it
must match (it binds the body); `verif-hash` alone is accepted for older accounts. The event
id is `"{event}:{data.id}:{data.status}"`: Flutterwave's transaction (or refund) id with its
status, stable across redeliveries and distinct per state change."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from moneyrail.connectors.base import InvalidWebhookSignature, WebhookEvent
from moneyrail.connectors.flutterwave.wire import loads
from moneyrail.connectors.signing import usable_secrets
from moneyrail.connectors.values import iso_timestamp, webhook_json

SIGNATURE_HEADER = "flutterwave-signature"
LEGACY_HASH_HEADER = "verif-hash"


def signature(secret_hash: str, body: bytes) -> str:
    """`flutterwave-signature`: base64 HMAC-SHA256 of the raw body keyed with the secret hash."""
    digest = hmac.new(secret_hash.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_signature(
    *, signature_header: str | None, hash_header: str | None, body: bytes, secrets: tuple[str, ...]
) -> None:
    """Check the body-bound signature when present, else the legacy secret-hash header,
    against every secret (all compared, whichever matches). Raises: InvalidWebhookSignature."""
    usable = usable_secrets(secrets, missing="no flutterwave secret hash is configured")
    if signature_header:
        presented, expected = signature_header.strip(), [signature(s, body) for s in usable]
    elif hash_header:
        presented, expected = hash_header, usable
    else:
        raise InvalidWebhookSignature("flutterwave-signature and verif-hash are both missing")
    matched = False
    for candidate in expected:
        matched |= hmac.compare_digest(candidate.encode(), presented.encode())
    if not matched:
        raise InvalidWebhookSignature("the flutterwave webhook signature does not match")


def event_of(body: bytes) -> WebhookEvent:
    """A verified Flutterwave event body as a `WebhookEvent`."""
    payload = webhook_json(body, loads)
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        raise InvalidWebhookSignature("webhook body is not a Flutterwave event")
    event_type = str(payload.get("event") or payload.get("event.type") or "")
    data: dict[str, Any] = payload["data"]
    family = event_type.split(".", 1)[0]
    object_type = {"charge": "payment", "refund": "refund"}.get(family, "other")
    object_id = data.get("tx_ref") if object_type == "payment" else data.get("id")
    return WebhookEvent(
        provider="flutterwave",
        event_id=f"{event_type}:{data.get('id')}:{data.get('status')}",
        event_type=event_type,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        occurred_at=iso_timestamp(data.get("created_at")),
        payload=payload,
    )
