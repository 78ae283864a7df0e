"""Paystack plans (`/plan`) and subscriptions (`/subscription`) of customers with a saved
card, cancelled and resumed with `/subscription/disable|enable` (which need the
subscription's `email_token`). Paystack keeps the billing interval on the plan and has no
quantity or cycle count on a subscription.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog

from moneyrail.connectors._common import iso_timestamp
from moneyrail.connectors.base import (
    CreatePlan,
    CreateSubscription,
    ProviderDeclined,
    ProviderNotSupported,
    ProviderSubscription,
    SubscriptionStatus,
)

if TYPE_CHECKING:
    from moneyrail.connectors.paystack import PaystackConnector

log = structlog.get_logger(__name__)

SUBSCRIPTION_STATUS = {
    "active": SubscriptionStatus.active,
    "non-renewing": SubscriptionStatus.cancelled,  # disabled: no further charges
    "cancelled": SubscriptionStatus.cancelled,
    "attention": SubscriptionStatus.past_due,  # the last charge failed
    "completed": SubscriptionStatus.completed,
}
# (interval, count) → Paystack's plan interval.
PLAN_INTERVALS = {
    ("day", 1): "daily",
    ("week", 1): "weekly",
    ("month", 1): "monthly",
    ("month", 6): "biannually",
    ("year", 1): "annually",
}


async def create_plan(connector: PaystackConnector, request: CreatePlan) -> str:
    from moneyrail.connectors.paystack import CURRENCIES

    interval = PLAN_INTERVALS.get((request.interval.value, request.interval_count))
    if interval is None:
        raise ProviderNotSupported(
            f"paystack has no plan billed every {request.interval_count} {request.interval}"
        )
    if request.amount.currency not in CURRENCIES:
        raise ProviderDeclined(f"paystack does not take {request.amount.currency}")
    body = {
        "name": request.name,
        "amount": request.amount.amount,
        "interval": interval,
        "currency": request.amount.currency,
    }
    payload = await connector._call("POST", "/plan", body=body, retry=False)
    return str(payload["data"]["plan_code"])


async def create_subscription(
    connector: PaystackConnector, request: CreateSubscription
) -> ProviderSubscription:
    if request.quantity != 1 or request.total_count is not None:
        raise ProviderNotSupported("paystack subscriptions have no quantity or cycle count")
    if not request.customer.email:
        raise ProviderDeclined("paystack needs the customer's e-mail address")
    body = {"customer": request.customer.email, "plan": request.plan_id}
    if request.payment_method:
        body["authorization"] = request.payment_method
    payload = await connector._call("POST", "/subscription", body=body, retry=False)
    code = str(payload["data"]["subscription_code"])
    log.info("paystack.subscription_created", subscription_code=code)
    return await connector.get_subscription(code)


async def _subscription_data(connector: PaystackConnector, code: str) -> dict[str, Any]:
    payload = await connector._call("GET", f"/subscription/{code}", retry=True)
    data = payload.get("data")
    if not isinstance(data, dict):
        raise ProviderDeclined("paystack answered without a subscription")
    return data


async def get_subscription(connector: PaystackConnector, code: str) -> ProviderSubscription:
    data = await _subscription_data(connector, code)
    plan = data.get("plan")
    plan_code = plan.get("plan_code") if isinstance(plan, dict) else plan
    return ProviderSubscription(
        provider=connector.name,
        provider_subscription_id=str(data["subscription_code"]),
        status=SUBSCRIPTION_STATUS.get(str(data.get("status")), SubscriptionStatus.past_due),
        plan_id=str(plan_code or ""),
        current_period_end=iso_timestamp(data.get("next_payment_date")),
        raw=data,
    )


async def toggle(connector: PaystackConnector, code: str, action: str) -> ProviderSubscription:
    """`disable` or `enable` a subscription; already so, nothing is sent."""
    data = await _subscription_data(connector, code)
    if (data.get("status") == "active") == (action == "enable"):
        return await connector.get_subscription(code)  # already so: nothing to do
    body = {"code": code, "token": data["email_token"]}
    # Disabling or enabling twice leaves the same state, so a retry is harmless.
    await connector._call("POST", f"/subscription/{action}", body=body, retry=True)
    log.info("paystack.subscription_toggled", subscription_code=code, action=action)
    return await connector.get_subscription(code)
