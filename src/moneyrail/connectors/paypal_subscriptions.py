"""PayPal plans and subscriptions: a catalog product and a billing plan per `CreatePlan`,
then a subscription the payer approves (`next_action_url`).

PayPal keeps the number of billing cycles on the plan (`total_cycles`, 0 = until
cancelled), so `CreateSubscription.total_count` overrides the plan's regular cycle count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moneyrail.connectors.base import CreatePlan, CreateSubscription, ProviderSubscription

if TYPE_CHECKING:
    from moneyrail.connectors.paypal import PayPalConnector

INTERVAL_UNITS = {"day": "DAY", "week": "WEEK", "month": "MONTH", "year": "YEAR"}


def _regular_cycle(request: CreatePlan, total_cycles: int = 0) -> dict[str, Any]:
    from moneyrail.connectors.paypal_wire import value_of

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


async def create_plan(connector: PayPalConnector, request: CreatePlan) -> str:
    product = await connector._call(
        "POST",
        "/v1/catalogs/products",
        {"name": request.name[:127], "type": "SERVICE"},
        request_id=f"{request.idempotency_key}:product",
    )
    plan = await connector._call(
        "POST",
        "/v1/billing/plans",
        {
            "product_id": product["id"],
            "name": request.name[:127],
            "status": "ACTIVE",
            "billing_cycles": [_regular_cycle(request)],
            "payment_preferences": {"auto_bill_outstanding": True, "payment_failure_threshold": 3},
        },
        request_id=request.idempotency_key,
    )
    return str(plan["id"])


async def create_subscription(
    connector: PayPalConnector, request: CreateSubscription
) -> ProviderSubscription:
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
        body["plan"] = {"billing_cycles": [{"sequence": 1, "total_cycles": request.total_count}]}
    sub = await connector._call(
        "POST", "/v1/billing/subscriptions", body, request_id=request.idempotency_key
    )
    return connector.subscription_of(sub)
