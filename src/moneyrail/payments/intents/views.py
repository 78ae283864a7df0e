"""Rows to response bodies."""

from __future__ import annotations

from moneyrail.connectors.base import (
    CaptureMode,
    Environment,
    PaymentStatus,
)
from moneyrail.core.money import MoneyModel
from moneyrail.payments.intents.schemas import (
    Failure,
    PaymentAttemptOut,
    PaymentOut,
)
from moneyrail.payments.intents.service import PaymentView
from moneyrail.payments.schemas import NextAction


def _money(amount: int, currency: str) -> MoneyModel:
    return MoneyModel(amount=amount, currency=currency)


def payment_out(view: PaymentView) -> PaymentOut:
    p = view.payment
    return PaymentOut(
        id=p.id,
        status=PaymentStatus(p.status),
        environment=Environment(p.environment),
        amount=_money(p.amount, p.currency),
        captured_amount=_money(p.captured_amount, p.currency),
        refunded_amount=_money(p.refunded_amount, p.currency),
        fee=_money(p.fee_amount, p.currency) if p.fee_amount is not None else None,
        capture=CaptureMode(p.capture_mode),
        provider=p.provider,
        provider_payment_id=p.provider_payment_id,
        next_action=(
            NextAction(url=p.next_action_url)
            if p.next_action_url and p.status == PaymentStatus.requires_action.value
            else None
        ),
        description=p.description,
        customer=dict(p.customer or {}),
        metadata=dict(p.metadata_ or {}),
        country=p.country,
        method=p.method,
        subscription_id=p.subscription_id,
        failure=(
            Failure(code=p.failure_code, message=p.failure_message) if p.failure_code else None
        ),
        attempts=[
            PaymentAttemptOut(provider=a.provider, outcome=a.outcome, error_code=a.error_code)
            for a in view.attempts
        ],
        created_at=p.created_at,
        updated_at=p.updated_at,
    )
