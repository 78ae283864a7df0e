"""PayPal: Orders v2, Payments v2 captures and refunds, Subscriptions v1 and webhooks.

The package's parts: `wire`, `api`, `webhooks`, `subscriptions`, `client`; each imports the shared
base (`connectors.base`, `connectors.http`, …) and the parts before it, never this module.
"""

from __future__ import annotations

from moneyrail.connectors.paypal.api import PayPalApi
from moneyrail.connectors.paypal.client import PayPalConnector
from moneyrail.connectors.paypal.subscriptions import INTERVAL_UNITS, PayPalSubscriptions
from moneyrail.connectors.paypal.webhooks import (
    RESOURCE_OBJECTS,
    CertificateCache,
    PayPalWebhooks,
    event_of,
    paypal_sign,
    paypal_signed_message,
    verify_paypal,
    verify_with_api,
)
from moneyrail.connectors.paypal.wire import (
    ACTION_STATUSES,
    DONE_CAPTURES,
    NO_DECIMALS,
    PROVIDER,
    REFUND_STATUS,
    SUBSCRIPTION_STATUS,
    link,
    money_of,
    payment_of,
    refund_of,
    subscription_of,
    value_of,
)

__all__ = [
    "ACTION_STATUSES",
    "DONE_CAPTURES",
    "INTERVAL_UNITS",
    "NO_DECIMALS",
    "PROVIDER",
    "REFUND_STATUS",
    "RESOURCE_OBJECTS",
    "SUBSCRIPTION_STATUS",
    "CertificateCache",
    "PayPalApi",
    "PayPalConnector",
    "PayPalSubscriptions",
    "PayPalWebhooks",
    "event_of",
    "link",
    "money_of",
    "payment_of",
    "paypal_sign",
    "paypal_signed_message",
    "refund_of",
    "subscription_of",
    "value_of",
    "verify_paypal",
    "verify_with_api",
]
