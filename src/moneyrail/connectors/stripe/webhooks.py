"""Stripe webhooks: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]`, the hex HMAC-SHA256 of
`"{t}.{body}"` keyed with the endpoint secret (`whsec_…`) as UTF-8 bytes, timestamps further
than the tolerance from now refused in either direction (a signature dated in the future is
as unusable as a stale one: it would stay replayable for longer than the tolerance); and a
verified body read as a `WebhookEvent`."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from moneyrail.connectors.base import InvalidWebhookSignature, WebhookEvent
from moneyrail.connectors.signing import any_matches, hmac_sha256_hex, usable_secrets
from moneyrail.connectors.values import unix_timestamp
from moneyrail.core import limits

OBJECT_TYPES = {
    "payment_intent": "payment",
    "charge": "payment",
    "refund": "refund",
    "subscription": "subscription",
}


def stripe_signature_header(body: bytes, secrets: Sequence[str], timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    parts = [f"t={timestamp}"] + [f"v1={hmac_sha256_hex(s, signed)}" for s in secrets]
    return ",".join(parts)


def verify_stripe(
    *,
    header: str | None,
    body: bytes,
    secrets: Sequence[str],
    tolerance_seconds: int = limits.stripe_webhook_tolerance_seconds,
    now: float | None = None,
) -> int:
    """Check a `Stripe-Signature` header; returns its timestamp."""
    usable = usable_secrets(secrets)
    if not header:
        raise InvalidWebhookSignature("Stripe-Signature header is missing")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError as exc:
                raise InvalidWebhookSignature("Stripe-Signature timestamp is not a number") from exc
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidWebhookSignature("Stripe-Signature lacks a timestamp or a v1 signature")
    signed = f"{timestamp}.".encode() + body
    if not any_matches((hmac_sha256_hex(s, signed) for s in usable), signatures):
        raise InvalidWebhookSignature("no Stripe signature matches the body")
    current = time.time() if now is None else now
    if tolerance_seconds and abs(current - timestamp) > tolerance_seconds:
        raise InvalidWebhookSignature("Stripe signature timestamp is outside the tolerance")
    return timestamp


def event_of(body: bytes) -> WebhookEvent:
    """A verified Stripe event body as a `WebhookEvent`."""
    try:
        event = json.loads(body)
        obj = event["data"]["object"]
        event_id = str(event["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidWebhookSignature("the signed body is not a Stripe event") from exc
    kind = str(obj.get("object") or "")
    object_id = obj.get("payment_intent") if kind == "charge" else obj.get("id")
    return WebhookEvent(
        provider="stripe",
        event_id=event_id,
        event_type=str(event.get("type") or ""),
        object_type=OBJECT_TYPES.get(kind, kind or "other"),
        object_id=str(object_id) if object_id else None,
        occurred_at=unix_timestamp(event.get("created")),
        payload=event,
    )
