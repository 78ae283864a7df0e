"""Flutterwave v3: hosted payment links, verification, refunds and webhooks.

The package's parts: `wire`, `webhooks`, `client`; each imports the shared
base (`connectors.base`, `connectors.http`, …) and the parts before it, never this module.
"""

from __future__ import annotations

from moneyrail.connectors.flutterwave.client import FlutterwaveConnector, to_money
from moneyrail.connectors.flutterwave.webhooks import (
    LEGACY_HASH_HEADER,
    SIGNATURE_HEADER,
    event_of,
    signature,
    verify_signature,
)
from moneyrail.connectors.flutterwave.wire import dumps, loads

__all__ = [
    "LEGACY_HASH_HEADER",
    "SIGNATURE_HEADER",
    "FlutterwaveConnector",
    "dumps",
    "event_of",
    "loads",
    "signature",
    "to_money",
    "verify_signature",
]
