"""PayPal plans and subscriptions: a catalog product and a billing plan per `CreatePlan`,
then a subscription the payer approves (`next_action_url`), suspended, re-activated and
cancelled through its actions.

PayPal keeps the number of billing cycles on the plan (`total_cycles`, 0 = until
cancelled), so `CreateSubscription.total_count` overrides the plan's regular cycle count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moneyrail.connectors.base import CreatePlan, CreateSubscription, ProviderSubscription
from moneyrail.connectors.paypal.api import PayPalApi
from moneyrail.connectors.paypal.wire import subscription_of, value_of

INTERVAL_UNITS = {"day": "DAY", "week": "WEEK", "month": "MONTH", "year": "YEAR"}


def _regular_cycle(request: CreatePlan, total_cycles: int = 0) -> dict[str, Any]:
    return {
        "frequency": {
            "interval_unit": INTERVAL_UNITS[request.interval.value],
            "interval_count": request.interval_count,
        },
        "tenure_type": "REGULAR",
        "sequence": 1,
        "total_cycles": total_cycles,
        "pricing_scheme": {
            "fixed_price": {
                "currency_code": request.amount.currency,
                "value": value_of(request.amount),
            }
        },
    }


class PayPalSubscriptions(PayPalApi):
    """The subscription half of `PayPalConnector`."""

    async def create_plan(self, request: CreatePlan) -> str:
        product = await self._call(
            "POST",
            "/v1/catalogs/products",
            {"name": request.name[:127], "type": "SERVICE"},
            request_id=f"{request.idempotency_key}:product",
        )
        plan = await self._call(
            "POST",
            "/v1/billing/plans",
            {
                "product_id": product["id"],
                "name": request.name[:127],
                "status": "ACTIVE",
                "billing_cycles": [_regular_cycle(request)],
                "payment_preferences": {
                    "auto_bill_outstanding": True,
                    "payment_failure_threshold": 3,
                },
            },
            request_id=request.idempotency_key,
        )
        return str(plan["id"])

    async def create_subscription(self, request: CreateSubscription) -> ProviderSubscription:
        body: dict[str, Any] = {
            "plan_id": request.plan_id,
            "quantity": str(request.quantity),
            "custom_id": request.reference[:127],
        }
        if request.customer.email:
            body["subscriber"] = {"email_address": request.customer.email}
        if request.return_url:
            body["application_context"] = {
                "return_url": request.return_url,
                "cancel_url": request.return_url,
                "user_action": "SUBSCRIBE_NOW",
            }
        if request.total_count:
            body["plan"] = {
                "billing_cycles": [{"sequence": 1, "total_cycles": request.total_count}]
            }
        sub = await self._call(
            "POST", "/v1/billing/subscriptions", body, request_id=request.idempotency_key
        )
        return self.subscription_of(sub)

    async def get_subscription(self, provider_subscription_id: str) -> ProviderSubscription:
        sub = await self._call("GET", f"/v1/billing/subscriptions/{provider_subscription_id}")
        return self.subscription_of(sub)

    def subscription_of(self, sub: Mapping[str, Any]) -> ProviderSubscription:
        return subscription_of(sub)

    async def _act(self, subscription_id: str, action: str, reason: str) -> ProviderSubscription:
        await self._call(
            "POST", f"/v1/billing/subscriptions/{subscription_id}/{action}", {"reason": reason}
        )
        return await self.get_subscription(subscription_id)

    async def cancel_subscription(
        self, provider_subscription_id: str, *, idempotency_key: str
    ) -> ProviderSubscription:
        return await self._act(provider_subscription_id, "cancel", "Cancelled by the merchant")

    async def pause_subscription(
        self, provider_subscription_id: str, *, idempotency_key: str
    ) -> ProviderSubscription:
        return await self._act(provider_subscription_id, "suspend", "Paused by the merchant")

    async def resume_subscription(
        self, provider_subscription_id: str, *, idempotency_key: str
    ) -> ProviderSubscription:
        return await self._act(provider_subscription_id, "activate", "Resumed by the merchant")
