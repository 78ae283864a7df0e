"""Stripe Billing for the Stripe sandbox (`sandbox.stripe`): customers, recurring prices
(with their products) and subscriptions, which start `active` when a default payment method
is known, `incomplete` with `payment_behavior=default_incomplete`, and are refused
otherwise; `pause_collection` pauses and an empty value resumes; DELETE cancels.
`POST /_sandbox/subscriptions/{id}/activate` stands in for the customer paying the first
invoice of an incomplete one.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from moneyrail.sandbox.state import HOOK_PREFIX, new_id
from moneyrail.sandbox.stripe.routes import StripeSandbox
from moneyrail.sandbox.stripe.wire import Params, _int, error, missing

INTERVAL_SECONDS = {"day": 86_400, "week": 604_800, "month": 2_592_000, "year": 31_536_000}


def billing_routes(s: StripeSandbox) -> list[Route]:

    async def create_customer(
        p: Params, owner: str, request: Request
    ) -> tuple[int, dict[str, Any]]:
        cus_id = new_id("cus_", 14)
        settings = p.get("invoice_settings") or {}
        customer = {
            "id": cus_id,
            "object": "customer",
            "created": int(time.time()),
            "email": p.get("email"),
            "name": p.get("name"),
            "phone": p.get("phone"),
            "metadata": p.get("metadata") or {},
            "invoice_settings": {
                "default_payment_method": settings.get("default_payment_method")
                or p.get("payment_method")
            },
            "livemode": False,
        }
        return 200, s.state.put(cus_id, customer, owner=owner)

    async def create_price(p: Params, owner: str, request: Request) -> tuple[int, dict[str, Any]]:
        amount = _int(p, "unit_amount", required=True)
        recurring = p.get("recurring") or None
        if recurring and recurring.get("interval") not in INTERVAL_SECONDS:
            raise error(
                400,
                "Invalid recurring[interval]: must be one of day, month, week, or year",
                param="recurring[interval]",
            )
        product = p.get("product")
        if not product:
            name = (p.get("product_data") or {}).get("name")
            if not name:
                raise error(
                    400,
                    "Missing required param: product.",
                    code="parameter_missing",
                    param="product",
                )
            product = new_id("prod_", 14)
            s.state.put(
                product,
                {
                    "id": product,
                    "object": "product",
                    "name": name,
                    "active": True,
                    "created": int(time.time()),
                    "livemode": False,
                },
                owner=owner,
            )
        price_id = new_id("price_", 24)
        price = {
            "id": price_id,
            "object": "price",
            "active": True,
            "billing_scheme": "per_unit",
            "created": int(time.time()),
            "currency": str(p.get("currency", "")).lower(),
            "livemode": False,
            "metadata": p.get("metadata") or {},
            "nickname": p.get("nickname"),
            "product": product,
            "recurring": {
                "interval": recurring["interval"],
                "interval_count": int(recurring.get("interval_count") or 1),
                "usage_type": "licensed",
            }
            if recurring
            else None,
            "type": "recurring" if recurring else "one_time",
            "unit_amount": amount,
            "unit_amount_decimal": str(amount),
        }
        return 200, s.state.put(price_id, price, owner=owner)

    async def create_subscription(
        p: Params, owner: str, request: Request
    ) -> tuple[int, dict[str, Any]]:
        customer = s.get("customer", str(p.get("customer") or ""), owner)
        items = p.get("items") or []
        if not items:
            raise error(
                400, "Missing required param: items.", code="parameter_missing", param="items"
            )
        now = int(time.time())
        sub_id = new_id("sub_", 24)
        data = []
        for item in items:
            price = s.get("price", str(item.get("price") or ""), owner)
            if not price.get("recurring"):
                raise error(
                    400,
                    "The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.",
                    param="items[0][price]",
                )
            recurring = price["recurring"]
            end = now + INTERVAL_SECONDS[recurring["interval"]] * recurring["interval_count"]
            data.append(
                {
                    "id": new_id("si_", 14),
                    "object": "subscription_item",
                    "created": now,
                    "metadata": {},
                    "price": price,
                    "quantity": int(item.get("quantity") or 1),
                    "subscription": sub_id,
                    "current_period_start": now,
                    "current_period_end": end,
                }
            )
        method = p.get("default_payment_method") or customer["invoice_settings"].get(
            "default_payment_method"
        )
        if method:
            status = "active"
        elif p.get("payment_behavior") == "default_incomplete":
            status = "incomplete"
        else:
            raise error(
                400,
                "This customer has no attached payment source or default payment method. Please consider adding a default payment method.",
                code="resource_missing",
            )
        sub = {
            "id": sub_id,
            "object": "subscription",
            "application": None,
            "billing_cycle_anchor": now,
            "cancel_at": None,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "collection_method": "charge_automatically",
            "created": now,
            "currency": data[0]["price"]["currency"],
            "customer": customer["id"],
            "default_payment_method": p.get("default_payment_method"),
            "description": p.get("description"),
            "ended_at": None,
            "items": {
                "object": "list",
                "data": data,
                "has_more": False,
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
            "latest_invoice": None,
            "livemode": False,
            "metadata": p.get("metadata") or {},
            "pause_collection": None,
            "start_date": now,
            "status": status,
            "trial_end": None,
            "trial_start": None,
        }
        return 200, s.state.put(sub_id, sub, owner=owner)

    async def get_subscription(
        p: Params, owner: str, request: Request
    ) -> tuple[int, dict[str, Any]]:
        return 200, s.get("subscription", request.path_params["id"], owner)

    async def update_subscription(
        p: Params, owner: str, request: Request
    ) -> tuple[int, dict[str, Any]]:
        sub = s.get("subscription", request.path_params["id"], owner)
        if sub["status"] in ("canceled", "incomplete_expired"):
            raise error(
                400,
                "A canceled subscription can only update its cancellation_details and metadata.",
            )
        if "pause_collection" in p:
            pause = p["pause_collection"]
            if pause in ("", None):
                sub["pause_collection"] = None
            elif pause.get("behavior") not in ("keep_as_draft", "mark_uncollectible", "void"):
                raise error(
                    400, "Invalid pause_collection[behavior]", param="pause_collection[behavior]"
                )
            else:
                sub["pause_collection"] = {
                    "behavior": pause["behavior"],
                    "resumes_at": pause.get("resumes_at"),
                }
        if "metadata" in p:
            sub["metadata"] = {**sub["metadata"], **(p["metadata"] or {})}
        return 200, sub

    async def cancel_subscription(
        p: Params, owner: str, request: Request
    ) -> tuple[int, dict[str, Any]]:
        sub = s.get("subscription", request.path_params["id"], owner)
        if sub["status"] == "canceled":
            raise error(404, f"No such subscription: '{sub['id']}'", code="resource_missing")
        now = int(time.time())
        sub.update(status="canceled", canceled_at=now, ended_at=now)
        return 200, sub

    async def hook_activate(request: Request) -> Response:
        sub = s.state.get(request.path_params["id"])
        if sub is None or sub.get("object") != "subscription":
            return missing("subscription", request.path_params["id"]).response()
        if sub["status"] == "incomplete":
            sub["status"] = "active"
        return JSONResponse(sub)

    e = s.endpoint
    return [
        Route("/v1/customers", e(create_customer), methods=["POST"]),
        Route("/v1/prices", e(create_price), methods=["POST"]),
        Route("/v1/subscriptions", e(create_subscription), methods=["POST"]),
        Route("/v1/subscriptions/{id}", e(get_subscription), methods=["GET"]),
        Route("/v1/subscriptions/{id}", e(update_subscription), methods=["POST"]),
        Route("/v1/subscriptions/{id}", e(cancel_subscription), methods=["DELETE"]),
        Route(f"{HOOK_PREFIX}/subscriptions/{{id}}/activate", hook_activate, methods=["POST"]),
    ]
