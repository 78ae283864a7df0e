"""Paystack plans (`/plan`) and subscriptions (`/subscription`) of customers with a saved
card, cancelled and resumed with `/subscription/disable|enable` (which need the
subscription's `email_token`). Paystack keeps the billing interval on the plan and has no
quantity or cycle count on a subscription.
"""

from __future__ import annotations

from typing import Any

import structlog

from moneyrail.connectors.base import (
    CreatePlan,
    CreateSubscription,
    ProviderDeclined,
    ProviderNotSupported,
    ProviderSubscription,
    SubscriptionStatus,
)
from moneyrail.connectors.paystack.api import CURRENCIES, PaystackApi
from moneyrail.connectors.values import iso_timestamp

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


class PaystackSubscriptions(PaystackApi):
    """The subscription half of `PaystackConnector`."""

    async def create_plan(self, request: CreatePlan) -> str:
        """A Paystack plan; returns its `plan_code` (`PLN_…`).

        Raises: ProviderNotSupported (an interval Paystack has no plan for), ProviderDeclined.
        """
        return await self._create_plan(request)

    async def create_subscription(self, request: CreateSubscription) -> ProviderSubscription:
        """Subscribe a customer who has paid before (Paystack charges their saved card, or
        the `payment_method` authorization code given).

        Raises: ProviderNotSupported (quantity or a cycle count, which Paystack sets on the
        plan), ProviderDeclined (no e-mail, no saved card), ProviderUnavailable.
        """
        return await self._create_subscription(request)

    async def cancel_subscription(
        self, provider_subscription_id: str, *, idempotency_key: str
    ) -> ProviderSubscription:
        return await self._toggle(provider_subscription_id, "disable")

    async def pause_subscription(
        self, provider_subscription_id: str, *, idempotency_key: str
    ) -> ProviderSubscription:
        raise ProviderNotSupported("paystack subscriptions cannot be paused, only disabled")

    async def resume_subscription(
        self, provider_subscription_id: str, *, idempotency_key: str
    ) -> ProviderSubscription:
        """Re-enable a disabled subscription."""
        return await self._toggle(provider_subscription_id, "enable")

    async def _create_plan(self, request: CreatePlan) -> str:
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
        payload = await self._call("POST", "/plan", body=body, retry=False)
        return str(payload["data"]["plan_code"])

    async def _create_subscription(self, request: CreateSubscription) -> ProviderSubscription:
        if request.quantity != 1 or request.total_count is not None:
            raise ProviderNotSupported("paystack subscriptions have no quantity or cycle count")
        if not request.customer.email:
            raise ProviderDeclined("paystack needs the customer's e-mail address")
        body = {"customer": request.customer.email, "plan": request.plan_id}
        if request.payment_method:
            body["authorization"] = request.payment_method
        payload = await self._call("POST", "/subscription", body=body, retry=False)
        code = str(payload["data"]["subscription_code"])
        log.info("paystack.subscription_created", subscription_code=code)
        return await self.get_subscription(code)

    async def _subscription_data(self, code: str) -> dict[str, Any]:
        payload = await self._call("GET", f"/subscription/{code}", retry=True)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise ProviderDeclined("paystack answered without a subscription")
        return data

    async def get_subscription(self, provider_subscription_id: str) -> ProviderSubscription:
        data = await self._subscription_data(provider_subscription_id)
        plan = data.get("plan")
        plan_code = plan.get("plan_code") if isinstance(plan, dict) else plan
        return ProviderSubscription(
            provider=self.name,
            provider_subscription_id=str(data["subscription_code"]),
            status=SUBSCRIPTION_STATUS.get(str(data.get("status")), SubscriptionStatus.past_due),
            plan_id=str(plan_code or ""),
            current_period_end=iso_timestamp(data.get("next_payment_date")),
            raw=data,
        )

    async def _toggle(self, code: str, action: str) -> ProviderSubscription:
        """`disable` or `enable` a subscription; already so, nothing is sent."""
        data = await self._subscription_data(code)
        if (data.get("status") == "active") == (action == "enable"):
            return await self.get_subscription(code)  # already so: nothing to do
        body = {"code": code, "token": data["email_token"]}
        # Disabling or enabling twice leaves the same state, so a retry is harmless.
        await self._call("POST", f"/subscription/{action}", body=body, retry=True)
        log.info("paystack.subscription_toggled", subscription_code=code, action=action)
        return await self.get_subscription(code)
