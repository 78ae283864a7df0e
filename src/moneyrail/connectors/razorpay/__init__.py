"""Razorpay: orders paid through Checkout, captures, refunds, subscriptions and webhooks.

The package's parts: `webhooks`, `client`; each imports the shared
base (`connectors.base`, `connectors.http`, …) and the parts before it, never this module.
"""

from __future__ import annotations

from moneyrail.connectors.razorpay.client import (
    NOTE_LENGTH_MAX,
    NOTES_MAX,
    PAYMENT_RANK,
    PERIODS,
    RECEIPT_LENGTH_MAX,
    REFUND_STATUS,
    SUBSCRIPTION_STATUS,
    RazorpayConnector,
    notes,
    receipt_for,
)
from moneyrail.connectors.razorpay.webhooks import event_of, razorpay_signature, verify_razorpay

__all__ = [
    "NOTES_MAX",
    "NOTE_LENGTH_MAX",
    "PAYMENT_RANK",
    "PERIODS",
    "RECEIPT_LENGTH_MAX",
    "REFUND_STATUS",
    "SUBSCRIPTION_STATUS",
    "RazorpayConnector",
    "event_of",
    "notes",
    "razorpay_signature",
    "receipt_for",
    "verify_razorpay",
]
