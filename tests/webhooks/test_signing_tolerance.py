"""Timestamp tolerance of the Standard Webhooks scheme, both ways: our outbound deliveries (as
a receiver's off-the-shelf verifier checks them) and Resend's Svix-signed inbound events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from moneyrail.connectors.base import InvalidWebhookSignature
from moneyrail.connectors.resend.webhooks import verify_webhook
from moneyrail.webhooks.signing import headers, new_secret

BODY = '{"type": "payment.captured"}'


@pytest.mark.parametrize("skew_minutes", [-10, 10])
def test_outbound_signature_out_of_tolerance_either_way_is_refused(skew_minutes: int) -> None:
    secret = new_secret()
    sent = headers(
        secrets_=[secret],
        message_id="msg_1",
        timestamp=datetime.now(UTC) + timedelta(minutes=skew_minutes),
        body=BODY,
    )
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, sent)
    now = headers(secrets_=[secret], message_id="msg_1", timestamp=datetime.now(UTC), body=BODY)
    assert Webhook(secret).verify(BODY, now) == {"type": "payment.captured"}


@pytest.mark.parametrize("skew_minutes", [-10, 10])
def test_resend_event_out_of_tolerance_either_way_is_refused(skew_minutes: int) -> None:
    secret = new_secret()
    stamp = datetime.now(UTC) + timedelta(minutes=skew_minutes)
    signed = headers(secrets_=[secret], message_id="msg_1", timestamp=stamp, body=BODY)
    svix = {
        "svix-id": signed["webhook-id"],
        "svix-timestamp": signed["webhook-timestamp"],
        "svix-signature": signed["webhook-signature"],
    }
    with pytest.raises(InvalidWebhookSignature):
        verify_webhook(secret=secret, headers=svix, body=BODY.encode())
