"""Rows to response bodies."""

from __future__ import annotations

from moneyrail.connectors.base import (
    CaptureMode,
    Environment,
    PaymentStatus,
    PlanInterval,
    RefundStatus,
    SubscriptionStatus,
)
from moneyrail.core.money import MoneyModel
from moneyrail.payments.credentials import REQUIRED_FIELDS, StoredCredential
from moneyrail.payments.models import ProviderAccount, Refund, Subscription
from moneyrail.payments.routing import SUBSCRIPTION_PROVIDERS
from moneyrail.payments.schemas import (
    Failure,
    NextAction,
    PaymentAttemptOut,
    PaymentOut,
    PlanOut,
    RefundOut,
    ServiceOut,
    StoredCredentialOut,
    SubscriptionOut,
)
from moneyrail.payments.service import PaymentView


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


def refund_out(refund: Refund) -> RefundOut:
    return RefundOut(
        id=refund.id,
        payment_id=refund.payment_id,
        status=RefundStatus(refund.status),
        amount=_money(refund.amount, refund.currency),
        reason=refund.reason,
        provider=refund.provider,
        provider_refund_id=refund.provider_refund_id,
        failure_message=refund.failure_message,
        created_at=refund.created_at,
        updated_at=refund.updated_at,
    )


def subscription_out(sub: Subscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=sub.id,
        status=SubscriptionStatus(sub.status),
        environment=Environment(sub.environment),
        provider=sub.provider,
        provider_subscription_id=sub.provider_subscription_id,
        plan=PlanOut(
            id=sub.plan_id,
            amount=_money(sub.amount, sub.currency) if sub.amount and sub.currency else None,
            interval=PlanInterval(sub.interval) if sub.interval else None,
            interval_count=sub.interval_count,
        ),
        quantity=sub.quantity,
        total_count=sub.total_count,
        customer=dict(sub.customer or {}),
        metadata=dict(sub.metadata_ or {}),
        next_action=(
            NextAction(url=sub.next_action_url)
            if sub.next_action_url and sub.status == SubscriptionStatus.requires_action.value
            else None
        ),
        current_period_end=sub.current_period_end,
        created_at=sub.created_at,
        updated_at=sub.updated_at,
    )


def service_out(
    provider: str,
    account: ProviderAccount | None,
    stored: list[StoredCredential],
    *,
    webhook_url: str,
) -> ServiceOut:
    return ServiceOut(
        provider=provider,
        environment=Environment(account.environment) if account else Environment.test,
        connected=bool(stored),
        credentials=[
            StoredCredentialOut(
                environment=c.environment,
                fields=dict(c.hints),
                webhook_secrets=list(c.webhook_hints),
                updated_at=c.row.updated_at,
            )
            for c in stored
        ],
        required_fields=list(REQUIRED_FIELDS.get(provider, ())),
        supports_subscriptions=provider in SUBSCRIPTION_PROVIDERS,
        webhook_url=webhook_url,
    )
