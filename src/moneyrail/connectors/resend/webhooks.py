"""Resend delivery events, signed the Svix way (`svix-id`, `svix-timestamp`,
`svix-signature`: space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, key =
base64-decoded secret after `whsec_`, timestamps within 5 minutes), which the
`standardwebhooks` verifier implements exactly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from moneyrail.connectors.base import InvalidWebhookSignature


def verify_webhook(*, secret: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The verified event. Raises InvalidWebhookSignature."""
    lowered = {k.lower(): v for k, v in headers.items()}
    standard = {
        "webhook-id": lowered.get("svix-id", ""),
        "webhook-timestamp": lowered.get("svix-timestamp", ""),
        "webhook-signature": lowered.get("svix-signature", ""),
    }
    try:
        event = Webhook(secret).verify(body, standard)
    except (WebhookVerificationError, ValueError) as exc:
        raise InvalidWebhookSignature("the svix signature does not verify") from exc
    if not isinstance(event, dict):
        raise InvalidWebhookSignature("the event is not a JSON object")
    return event
