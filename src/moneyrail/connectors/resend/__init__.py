"""Resend e-mail: send, fetch, and verify its delivery events.

The package's parts: `webhooks`, `client`; each imports the shared
base (`connectors.base`, `connectors.http`, …) and the parts before it, never this module.
"""

from __future__ import annotations

from moneyrail.connectors.resend.client import EVENT_STATUS, ResendClient, ResendEmail
from moneyrail.connectors.resend.webhooks import verify_webhook

__all__ = [
    "EVENT_STATUS",
    "ResendClient",
    "ResendEmail",
    "verify_webhook",
]
