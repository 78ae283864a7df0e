"""Razorpay sandbox test hooks standing in for Checkout (a browser widget) and the
dashboard: `GET /_sandbox/checkout/{order_id}?outcome=succeed|fail` pays an order and
answers Checkout's `razorpay_payment_id`, `razorpay_order_id` and `razorpay_signature`;
`POST /_sandbox/payments/{order_or_payment_id}/succeed|fail`;
`GET /_sandbox/subscriptions/{id}/authenticate` completes a subscription's mandate; and
`POST /_sandbox/webhooks` `{event, object_id, secret, url?}` signs (and delivers) a webhook.
"""

from __future__ import annotations

import json
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from moneyrail.connectors.razorpay.webhooks import razorpay_signature
from moneyrail.connectors.signing import hmac_sha256_hex
from moneyrail.sandbox.razorpay.routes import PERIODS, Body, RazorpaySandbox, error, public
from moneyrail.sandbox.state import HOOK_PREFIX, new_id, signed_webhook_response


def checkout_hook_routes(s: RazorpaySandbox) -> list[Route]:
    async def hook_checkout(request: Request) -> Response:
        order = s.state.get(request.path_params["id"])
        if order is None or order.get("entity") != "order":
            return error(400, "The id provided does not exist", field="id").response()
        if order["status"] == "paid":
            return error(400, "Order is already paid").response()
        payment = s.pay(order, succeed=request.query_params.get("outcome", "succeed") != "fail")
        if payment["status"] == "failed":
            return JSONResponse(
                {
                    "error": {
                        "code": payment["error_code"],
                        "description": payment["error_description"],
                        "metadata": {"order_id": order["id"], "payment_id": payment["id"]},
                    }
                },
                status_code=400,
            )
        secret = s.secrets.get(s.state.owner_of(order["id"]) or "", "")
        signature = hmac_sha256_hex(secret, f"{order['id']}|{payment['id']}".encode())
        return JSONResponse(
            {
                "razorpay_payment_id": payment["id"],
                "razorpay_order_id": order["id"],
                "razorpay_signature": signature,
            }
        )

    async def hook_outcome(request: Request) -> Response:
        obj = s.state.get(request.path_params["id"])
        outcome = request.path_params["outcome"]
        if obj is None or outcome not in ("succeed", "fail"):
            return error(400, "The id provided does not exist", field="id").response()
        if obj["entity"] == "order":
            return JSONResponse(public(s.pay(obj, succeed=outcome == "succeed")))
        if obj["entity"] == "payment" and obj["status"] == "authorized" and outcome == "fail":
            obj.update(
                status="failed",
                error_code="BAD_REQUEST_ERROR",
                error_description="Payment was not completed",
            )
        return JSONResponse(public(obj))

    async def hook_authenticate(request: Request) -> Response:
        sub = s.state.get(request.path_params["id"])
        if sub is None or sub.get("entity") != "subscription":
            return error(400, "The id provided does not exist", field="id").response()
        if sub["status"] == "created":
            plan = s.state.objects.get(sub["plan_id"], {})
            now = int(time.time())
            end = now + PERIODS.get(plan.get("period", "monthly"), 2_592_000) * int(
                plan.get("interval", 1)
            )
            sub.update(
                status="active",
                paid_count=1,
                remaining_count=sub["total_count"] - 1,
                current_start=now,
                current_end=end,
                charge_at=end,
                auth_attempts=0,
            )
        return JSONResponse(sub)

    async def hook_webhook(request: Request) -> Response:
        spec = await request.json()
        obj = s.state.get(str(spec.get("object_id") or ""))
        secret = spec.get("secret")
        if obj is None or not isinstance(secret, str) or not secret:
            return JSONResponse({"error": "object_id and secret are required"}, status_code=400)
        kind = obj["entity"]
        payload: Body = {kind: {"entity": public(obj)}}
        if kind == "refund":
            payload["payment"] = {"entity": public(s.state.objects[obj["payment_id"]])}
        elif kind == "order" and obj.get("_payments"):
            payload["payment"] = {"entity": public(s.state.objects[obj["_payments"][-1]])}
        event = {
            "entity": "event",
            "account_id": f"acc_{(s.state.owner_of(obj['id']) or '')[-14:]}",
            "event": spec.get("event") or f"{kind}.updated",
            "contains": list(payload),
            "payload": payload,
            "created_at": int(time.time()),
        }
        body = json.dumps(event).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Razorpay-Signature": razorpay_signature(body, secret),
            "X-Razorpay-Event-Id": new_id("", 14),
        }
        return await signed_webhook_response(headers=headers, body=body, url=spec.get("url"))

    return [
        Route(f"{HOOK_PREFIX}/checkout/{{id}}", hook_checkout, methods=["GET"]),
        Route(f"{HOOK_PREFIX}/payments/{{id}}/{{outcome}}", hook_outcome, methods=["POST"]),
        Route(
            f"{HOOK_PREFIX}/subscriptions/{{id}}/authenticate", hook_authenticate, methods=["GET"]
        ),
        Route(f"{HOOK_PREFIX}/webhooks", hook_webhook, methods=["POST"]),
    ]
