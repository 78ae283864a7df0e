"""Razorpay sandbox plans and subscriptions (`POST /v1/plans`, `POST /v1/subscriptions`,
`GET /v1/subscriptions` (plan_id, from, to, count, skip), `GET /v1/subscriptions/{id}`, `POST /v1/subscriptions/{id}/cancel|pause|resume`), in
Razorpay's wire format. A new subscription waits in `created` until its mandate is
authenticated through the `/_sandbox/subscriptions/{id}/authenticate` hook.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.routing import Route

from moneyrail.sandbox.razorpay.routes import (
    PERIODS,
    Body,
    RazorpaySandbox,
    _amount,
    error,
    notes_of,
)
from moneyrail.sandbox.state import HOOK_PREFIX, mount_url, new_id


def subscription_routes(s: RazorpaySandbox) -> list[Route]:
    async def create_plan(body: Body, owner: str, request: Request) -> Body:
        period = body.get("period")
        if period not in PERIODS:
            raise error(
                400,
                "The period field is required."
                if period is None
                else "The selected period is invalid.",
                field="period",
            )
        interval = body.get("interval")
        if not isinstance(interval, int) or interval < 1:
            raise error(400, "The interval must be an integer.", field="interval")
        item = body.get("item") or {}
        amount = _amount(item)
        if not item.get("name") or not item.get("currency"):
            raise error(400, "The item name and currency are required.", field="item")
        plan_id = new_id("plan_")
        plan = {
            "id": plan_id,
            "entity": "plan",
            "interval": interval,
            "period": period,
            "item": {
                "id": new_id("item_"),
                "active": True,
                "name": item["name"],
                "description": item.get("description"),
                "amount": amount,
                "unit_amount": amount,
                "currency": str(item["currency"]).upper(),
                "type": "plan",
                "unit": None,
                "tax_inclusive": False,
                "hsn_code": None,
                "sac_code": None,
                "tax_rate": None,
                "tax_id": None,
                "tax_group_id": None,
                "created_at": int(time.time()),
                "updated_at": int(time.time()),
            },
            "notes": notes_of(body),
            "created_at": int(time.time()),
        }
        return s.state.put(plan_id, plan, owner=owner)

    async def create_subscription(body: Body, owner: str, request: Request) -> Body:
        plan = s.get("plan", str(body.get("plan_id") or ""), owner)
        total = body.get("total_count")
        if not isinstance(total, int) or total < 1:
            raise error(400, "The total count field is required.", field="total_count")
        now = int(time.time())
        sub_id = new_id("sub_")
        sub = {
            "id": sub_id,
            "entity": "subscription",
            "plan_id": plan["id"],
            "customer_id": body.get("customer_id"),
            "status": "created",
            "current_start": None,
            "current_end": None,
            "ended_at": None,
            "quantity": int(body.get("quantity") or 1),
            "notes": notes_of(body),
            "charge_at": body.get("start_at") or now,
            "start_at": body.get("start_at"),
            "end_at": None,
            "auth_attempts": 0,
            "total_count": total,
            "paid_count": 0,
            "customer_notify": body.get("customer_notify", True) in (True, 1, "1"),
            "created_at": now,
            "expire_by": body.get("expire_by"),
            "short_url": f"{mount_url(request)}{HOOK_PREFIX}/subscriptions/{sub_id}/authenticate",
            "has_scheduled_changes": False,
            "change_scheduled_at": None,
            "source": "api",
            "offer_id": body.get("offer_id"),
            "remaining_count": total,
        }
        return s.state.put(sub_id, sub, owner=owner)

    async def list_subscriptions(body: Body, owner: str, request: Request) -> Body:
        """Razorpay's "fetch all subscriptions": newest first, `count` (at most 100) from
        `skip`, narrowed by `plan_id` and the `from`/`to` creation timestamps."""

        def number(name: str, default: int) -> int:
            try:
                return int(body.get(name) or default)
            except ValueError as exc:
                raise error(400, f"The {name} must be an integer.", field=name) from exc

        count, skip = min(number("count", 10), 100), number("skip", 0)
        since, until = number("from", 0), number("to", 0)
        plan_id = body.get("plan_id")
        items = [
            o
            for i, o in s.state.objects.items()
            if o.get("entity") == "subscription"
            and s.state.owner_of(i) == owner
            and (plan_id is None or o.get("plan_id") == plan_id)
            and int(o.get("created_at") or 0) >= since
            and (not until or int(o.get("created_at") or 0) <= until)
        ]
        items.reverse()
        page = items[skip : skip + count]
        return {"entity": "collection", "count": len(page), "items": page}

    async def get_subscription(body: Body, owner: str, request: Request) -> Body:
        return s.get("subscription", request.path_params["id"], owner)

    async def subscription_action(body: Body, owner: str, request: Request) -> Body:
        sub = s.get("subscription", request.path_params["id"], owner)
        action = request.path_params["action"]
        now = int(time.time())
        if action == "cancel":
            if sub["status"] in ("cancelled", "completed", "expired"):
                raise error(400, "Subscription is not cancellable in cancelled status.")
            sub.update(status="cancelled", ended_at=now)
        elif action == "pause":
            if sub["status"] == "authenticated":
                sub.update(status="cancelled", ended_at=now)
            elif sub["status"] != "active":
                raise error(400, f"Subscription is not pausable in {sub['status']} status.")
            else:
                sub.update(status="paused", paused_at=now, pause_initiated_by="self")
        elif action == "resume":
            if sub["status"] != "paused":
                raise error(400, f"Subscription is not resumable in {sub['status']} status.")
            sub.update(status="active", paused_at=None)
        else:
            raise error(400, "The requested URL was not found on the server.")
        return sub

    e = s.endpoint
    return [
        Route("/v1/plans", e(create_plan), methods=["POST"]),
        Route("/v1/subscriptions", e(create_subscription), methods=["POST"]),
        Route("/v1/subscriptions", e(list_subscriptions), methods=["GET"]),
        Route("/v1/subscriptions/{id}", e(get_subscription), methods=["GET"]),
        Route("/v1/subscriptions/{id}/{action}", e(subscription_action), methods=["POST"]),
    ]
