"""Chapa v1: hosted checkout, verification, cancellation, refunds and webhooks.

The package's parts: `webhooks`, `client`; each imports the shared
base (`connectors.base`, `connectors.http`, …) and the parts before it, never this module.
"""

from __future__ import annotations

from moneyrail.connectors.chapa.client import ChapaConnector, provider_reference, to_money
from moneyrail.connectors.chapa.webhooks import (
    SIGNATURE_HEADER,
    STATIC_SIGNATURE_HEADER,
    body_signature,
    event_of,
    static_signature,
    verify_signature,
)

__all__ = [
    "SIGNATURE_HEADER",
    "STATIC_SIGNATURE_HEADER",
    "ChapaConnector",
    "body_signature",
    "event_of",
    "provider_reference",
    "static_signature",
    "to_money",
    "verify_signature",
]
