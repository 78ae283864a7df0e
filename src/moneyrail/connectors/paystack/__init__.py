"""Paystack: hosted checkout, verification, refunds, subscriptions and webhooks.

The package's parts: `api`, `webhooks`, `subscriptions`, `client`; each imports the shared
base (`connectors.base`, `connectors.http`, …) and the parts before it, never this module.
"""

from __future__ import annotations

from moneyrail.connectors.paystack.api import CURRENCIES, PaystackApi, provider_reference
from moneyrail.connectors.paystack.client import PaystackConnector
from moneyrail.connectors.paystack.subscriptions import (
    PLAN_INTERVALS,
    SUBSCRIPTION_STATUS,
    PaystackSubscriptions,
)
from moneyrail.connectors.paystack.webhooks import (
    OBJECT_TYPES,
    SIGNATURE_HEADER,
    event_of,
    signature,
    verify_signature,
)

__all__ = [
    "CURRENCIES",
    "OBJECT_TYPES",
    "PLAN_INTERVALS",
    "SIGNATURE_HEADER",
    "SUBSCRIPTION_STATUS",
    "PaystackApi",
    "PaystackConnector",
    "PaystackSubscriptions",
    "event_of",
    "provider_reference",
    "signature",
    "verify_signature",
]
