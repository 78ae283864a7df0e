"""PayPal's Catalog Products and Subscriptions v1 for the PayPal sandbox (`sandbox.paypal`).

Products `PROD-…`, plans `P-…` (ACTIVE by default), subscriptions `I-…` created
APPROVAL_PENDING with an `approve` link (the sandbox's checkout page), then ACTIVE; suspend,
activate and cancel answer 204 and refuse invalid transitions with
`SUBSCRIPTION_STATUS_INVALID`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.routing import Route

from moneyrail.sandbox.paypal.routes import PayPalSandbox
from moneyrail.sandbox.paypal.wire import error, link, money, now_iso
from moneyrail.sandbox.state import HOOK_PREFIX, UPPER_ALPHANUMERIC, new_id

Body = dict[str, Any]
UNITS = ("DAY", "WEEK", "MONTH", "YEAR")


def billing_routes(s: PayPalSandbox) -> list[Route]:
    async def create_product(body: Body, owner: str, request: Request) -> tuple[int, Body]:
        if not body.get("name") or not body.get("type"):
            raise error(
                400,
                "MISSING_REQUIRED_PARAMETER",
                "A required field / parameter is missing.",
                field="/name",
            )
        product_id = "PROD-" + new_id("", 17, UPPER_ALPHANUMERIC)
        product = {
            "id": product_id,
            "name": body["name"],
            "type": body["type"],
            "description": body.get("description"),
            "create_time": now_iso(),
            "update_time": now_iso(),
            "links": [link(f"/v1/catalogs/products/{product_id}", "self")],
            "_kind": "product",
        }
        return 201, s.state.put(product_id, product, owner=owner)

    async def create_plan(body: Body, owner: str, request: Request) -> tuple[int, Body]:
        product = s.get("product", str(body.get("product_id") or ""), owner)
        cycles = body.get("billing_cycles")
        if (
            not body.get("name")
            or not isinstance(cycles, list)
            or not cycles
            or not isinstance(body.get("payment_preferences"), dict)
        ):
            raise error(
                400,
                "MISSING_REQUIRED_PARAMETER",
                "A required field / parameter is missing.",
                field="/billing_cycles",
            )
        for index, cycle in enumerate(cycles):
            frequency = cycle.get("frequency") or {}
            if frequency.get("interval_unit") not in UNITS:
                raise error(
                    400,
                    "INVALID_PARAMETER_VALUE",
                    "The value of a field is invalid.",
                    field=f"/billing_cycles/{index}/frequency/interval_unit",
                )
            money(
                ((cycle.get("pricing_scheme") or {}).get("fixed_price")),
                f"/billing_cycles/{index}/pricing_scheme/fixed_price",
            )
        plan_id = "P-" + new_id("", 24, UPPER_ALPHANUMERIC)
        plan = {
            "id": plan_id,
            "product_id": product["id"],
            "name": body["name"],
            "status": body.get("status") or "ACTIVE",
            "description": body.get("description"),
            "usage_type": "LICENSED",
            "billing_cycles": cycles,
            "payment_preferences": body["payment_preferences"],
            "quantity_supported": bool(body.get("quantity_supported")),
            "create_time": now_iso(),
            "update_time": now_iso(),
            "links": [
                link(f"/v1/billing/plans/{plan_id}", "self"),
                link(f"/v1/billing/plans/{plan_id}", "edit", "PATCH"),
            ],
            "_kind": "plan",
        }
        if plan["description"] is None:
            del plan["description"]
        return 201, s.state.put(plan_id, plan, owner=owner)

    async def get_plan(body: Body, owner: str, request: Request) -> tuple[int, Body]:
        return 200, s.get("plan", request.path_params["id"], owner)

    async def create_subscription(body: Body, owner: str, request: Request) -> tuple[int, Body]:
        plan = s.get("plan", str(body.get("plan_id") or ""), owner)
        if plan["status"] != "ACTIVE":
            raise error(
                422,
                "PLAN_STATUS_INVALID",
                "Invalid plan status for subscribe action; plan status should be active.",
            )
        sub_id = "I-" + new_id("", 12, UPPER_ALPHANUMERIC)
        regular = next(
            (c for c in plan["billing_cycles"] if c.get("tenure_type") == "REGULAR"),
            plan["billing_cycles"][0],
        )
        context = body.get("application_context") or {}
        sub: Body = {
            "id": sub_id,
            "plan_id": plan["id"],
            "status": "APPROVAL_PENDING",
            "status_update_time": now_iso(),
            "quantity": str(body.get("quantity") or "1"),
            "plan_overridden": False,
            "create_time": now_iso(),
            "links": [
                link(f"{HOOK_PREFIX}/checkoutnow?{urlencode({'token': sub_id})}", "approve"),
                link(f"/v1/billing/subscriptions/{sub_id}", "edit", "PATCH"),
                link(f"/v1/billing/subscriptions/{sub_id}", "self"),
            ],
            "_kind": "subscription",
            "_return_url": context.get("return_url"),
            "_interval": (
                regular["frequency"]["interval_unit"],
                regular["frequency"].get("interval_count", 1),
            ),
            "_currency": regular["pricing_scheme"]["fixed_price"]["currency_code"],
        }
        for field in ("custom_id", "start_time", "subscriber"):
            if body.get(field):
                sub[field] = body[field]
        return 201, s.state.put(sub_id, sub, owner=owner)

    async def get_subscription(body: Body, owner: str, request: Request) -> tuple[int, Body]:
        return 200, s.get("subscription", request.path_params["id"], owner)

    async def act(body: Body, owner: str, request: Request) -> tuple[int, None]:
        sub = s.get("subscription", request.path_params["id"], owner)
        action = request.path_params["action"]
        allowed = {
            "suspend": ("ACTIVE",),
            "activate": ("SUSPENDED", "APPROVED"),
            "cancel": ("ACTIVE", "SUSPENDED", "APPROVED"),
        }.get(action)
        if allowed is None:
            raise error(404)
        if not body.get("reason"):
            raise error(
                400,
                "MISSING_REQUIRED_PARAMETER",
                "A required field / parameter is missing.",
                field="/reason",
            )
        if sub["status"] not in allowed:
            raise error(
                422,
                "SUBSCRIPTION_STATUS_INVALID",
                f"Invalid subscription status for {action} action; subscription status should be {' or '.join(a.lower() for a in allowed)}.",
            )
        status = {"suspend": "SUSPENDED", "activate": "ACTIVE", "cancel": "CANCELLED"}[action]
        sub.update(
            status=status,
            status_change_note=str(body["reason"])[:128],
            status_update_time=now_iso(),
        )
        return 204, None

    e = s.endpoint
    return [
        Route("/v1/catalogs/products", e(create_product), methods=["POST"]),
        Route("/v1/billing/plans", e(create_plan), methods=["POST"]),
        Route("/v1/billing/plans/{id}", e(get_plan), methods=["GET"]),
        Route("/v1/billing/subscriptions", e(create_subscription), methods=["POST"]),
        Route("/v1/billing/subscriptions/{id}", e(get_subscription), methods=["GET"]),
        Route("/v1/billing/subscriptions/{id}/{action}", e(act), methods=["POST"]),
    ]
