"""Stripe: PaymentIntents, refunds, subscriptions and webhooks.

The package's parts: `webhooks`, `client`; each imports the shared
base (`connectors.base`, `connectors.http`, …) and the parts before it, never this module.
"""

from __future__ import annotations

from moneyrail.connectors.stripe.client import (
    API_VERSION,
    INTENT_STATUS,
    REFUND_REASONS,
    REFUND_STATUS,
    SUBSCRIPTION_STATUS,
    StripeConnector,
    form,
)
from moneyrail.connectors.stripe.webhooks import (
    OBJECT_TYPES,
    event_of,
    stripe_signature_header,
    verify_stripe,
)

__all__ = [
    "API_VERSION",
    "INTENT_STATUS",
    "OBJECT_TYPES",
    "REFUND_REASONS",
    "REFUND_STATUS",
    "SUBSCRIPTION_STATUS",
    "StripeConnector",
    "event_of",
    "form",
    "stripe_signature_header",
    "verify_stripe",
]
