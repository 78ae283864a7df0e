"""Standard Webhooks signatures (https://www.standardwebhooks.com), made with the
`standardwebhooks` package so any off-the-shelf verifier accepts them."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format prefix, not a secret
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature_header(
    *, secrets_: list[str], message_id: str, timestamp: datetime, body: str
) -> str:
    """`v1,<sig>` for each secret, space separated (several during a rotation)."""
    return " ".join(
        Webhook(secret).sign(msg_id=message_id, timestamp=timestamp, data=body)
        for secret in secrets_
    )


def headers(
    *, secrets_: list[str], message_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature_header(
            secrets_=secrets_, message_id=message_id, timestamp=timestamp, body=body
        ),
        "content-type": "application/json",
        "user-agent": "moneyrail-webhooks/1",
    }
