"""Rows to response bodies."""

from __future__ import annotations

from moneyrail.connectors.base import (
    RefundStatus,
)
from moneyrail.core.money import MoneyModel
from moneyrail.payments.models import Refund
from moneyrail.payments.refunds.schemas import (
    RefundOut,
)


def _money(amount: int, currency: str) -> MoneyModel:
    return MoneyModel(amount=amount, currency=currency)


def refund_out(refund: Refund) -> RefundOut:
    return RefundOut(
        id=refund.id,
        payment_id=refund.payment_id,
        # A refund whose provider call is unresolved (in flight) is shown as pending.
        status=RefundStatus(refund.status if refund.status != "in_flight" else "pending"),
        amount=_money(refund.amount, refund.currency),
        reason=refund.reason,
        provider=refund.provider,
        provider_refund_id=refund.provider_refund_id,
        failure_message=refund.failure_message,
        created_at=refund.created_at,
        updated_at=refund.updated_at,
    )
