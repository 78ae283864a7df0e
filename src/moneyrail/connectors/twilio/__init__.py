"""Twilio Programmable Messaging: send an SMS, fetch it, verify status callbacks.

The package's parts: `webhooks`, `client`; each imports the shared
base (`connectors.base`, `connectors.http`, …) and the parts before it, never this module.
"""

from __future__ import annotations

from moneyrail.connectors.twilio.client import API_VERSION, STATUS_MAP, TwilioClient, TwilioMessage
from moneyrail.connectors.twilio.webhooks import (
    SIGNATURE_HEADER,
    compute_signature,
    verify_signature,
)

__all__ = [
    "API_VERSION",
    "SIGNATURE_HEADER",
    "STATUS_MAP",
    "TwilioClient",
    "TwilioMessage",
    "compute_signature",
    "verify_signature",
]
