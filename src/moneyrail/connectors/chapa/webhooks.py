"""Chapa webhooks: `x-chapa-signature` is the hex HMAC-SHA256 of the raw body keyed with the
dashboard's secret hash, and is required; `Chapa-Signature` (HMAC-SHA256 of the secret hash
keyed with itself) is static, so it is only checked for consistency when present. Chapa
events carry no id; the event id is `"{event}:{tx_ref}:{status}:{updated_at}"`, the same for
redeliveries of one event and different for each change of the transaction."""

from __future__ import annotations

import hmac

from moneyrail.connectors.base import InvalidWebhookSignature, WebhookEvent
from moneyrail.connectors.signing import hmac_hex, usable_secrets
from moneyrail.connectors.values import iso_timestamp, webhook_json

SIGNATURE_HEADER = "x-chapa-signature"
STATIC_SIGNATURE_HEADER = "chapa-signature"


def body_signature(secret: str, body: bytes) -> str:
    """`x-chapa-signature`: hex HMAC-SHA256 of the raw body keyed with the secret hash."""
    return hmac_hex(secret, body)


def static_signature(secret: str) -> str:
    """`Chapa-Signature`: hex HMAC-SHA256 of the secret hash keyed with itself."""
    return hmac_hex(secret, secret.encode())


def verify_signature(
    *, signature: str | None, static: str | None, body: bytes, secrets: tuple[str, ...]
) -> None:
    """Check the body signature (and the static one when sent) against every secret; all
    are compared, whichever matches. Raises: InvalidWebhookSignature."""
    usable = usable_secrets(secrets, missing="no chapa secret hash is configured")
    if not signature:
        raise InvalidWebhookSignature("x-chapa-signature is missing")
    presented = signature.strip().lower().encode()
    matched = False
    for secret in usable:
        ok = hmac.compare_digest(body_signature(secret, body).encode(), presented)
        if static is not None:
            ok &= hmac.compare_digest(static_signature(secret).encode(), static.strip().encode())
        matched |= ok
    if not matched:
        raise InvalidWebhookSignature("the chapa webhook signature does not match")


def event_of(body: bytes) -> WebhookEvent:
    """A verified Chapa event body as a `WebhookEvent`."""
    payload = webhook_json(body)
    if not isinstance(payload, dict) or not payload.get("event"):
        raise InvalidWebhookSignature("webhook body is not a Chapa event")
    event_type = str(payload["event"])
    family = event_type.split(".", 1)[0]
    object_type = {"charge": "payment", "payout": "payout"}.get(family, "other")
    object_id = payload.get("tx_ref") or payload.get("reference")
    return WebhookEvent(
        provider="chapa",
        event_id=(f"{event_type}:{object_id}:{payload.get('status')}:{payload.get('updated_at')}"),
        event_type=event_type,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        occurred_at=iso_timestamp(payload.get("updated_at") or payload.get("created_at")),
        payload=payload,
    )
