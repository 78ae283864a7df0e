"""The payments domain's face: what other domains call.

Each sub-domain keeps its own service (`intents`, `refunds`, `subscriptions`, `credentials`,
`routing`, `webhooks`, `reconcile`); this module only names them, so a caller outside
payments imports one module and never a sub-domain's internals.
"""

from __future__ import annotations

from moneyrail.payments.credentials.service import credentials
from moneyrail.payments.intents.service import (
    PaymentNotFound,
    PaymentView,
    payment,
)
from moneyrail.payments.reconcile.service import reconcile
from moneyrail.payments.refunds.service import RefundNotFound, refunds
from moneyrail.payments.routing.service import routing_rules
from moneyrail.payments.subscriptions.service import SubscriptionNotFound, subscriptions

__all__ = [
    "PaymentNotFound",
    "PaymentView",
    "RefundNotFound",
    "SubscriptionNotFound",
    "credentials",
    "payment",
    "reconcile",
    "refunds",
    "routing_rules",
    "subscriptions",
]
