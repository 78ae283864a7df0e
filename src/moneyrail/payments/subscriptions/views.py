"""Rows to response bodies."""

from __future__ import annotations

from moneyrail.connectors.base import (
    Environment,
    PlanInterval,
    SubscriptionStatus,
)
from moneyrail.core.money import MoneyModel
from moneyrail.payments.models import Subscription
from moneyrail.payments.schemas import NextAction
from moneyrail.payments.subscriptions.schemas import (
    PlanOut,
    SubscriptionOut,
)


def _money(amount: int, currency: str) -> MoneyModel:
    return MoneyModel(amount=amount, currency=currency)


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
