"""Paystack sandbox plans and subscriptions (`POST /plan`, `POST /subscription`,
`GET /subscription/{code}`, `POST /subscription/disable|enable`), in Paystack's wire format.

A subscription charges the card the customer saved by paying a transaction
(`POST /subscription` refuses customers without one); disable/enable need the
subscription's `email_token`, as on Paystack.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from moneyrail.connectors.paystack import CURRENCIES
from moneyrail.sandbox.http import Endpoint, Handler, read_body
from moneyrail.sandbox.paystack.routes import (
    _LOWER_ALNUM,
    _TIME_FORMAT,
    PaystackSandbox,
    _int,
    _now,
    fail,
    ok,
)

_INTERVALS = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
    "monthly": timedelta(days=30),
    "quarterly": timedelta(days=91),
    "biannually": timedelta(days=182),
    "annually": timedelta(days=365),
}
_PLAN_SUMMARY = (
    "description",
    "id",
    "name",
    "plan_code",
    "amount",
    "interval",
    "send_invoices",
    "send_sms",
    "currency",
)


def subscription_routes(s: PaystackSandbox, api: Callable[[Handler], Endpoint]) -> list[Route]:
    async def create_plan(request: Request, account: str, key: str) -> Response:
        body = await read_body(request)
        if body is None:
            return fail(400, "Invalid JSON", code="invalid_params")
        name, amount = body.get("name"), _int(body.get("amount"))
        interval = str(body.get("interval") or "")
        if not isinstance(name, str) or not name:
            return fail(400, "Plan name is required", code="invalid_params")
        if amount is None or amount <= 0:
            return fail(400, "Invalid Amount Sent", code="invalid_params")
        if interval not in _INTERVALS:
            return fail(400, "Invalid interval", code="invalid_params")
        currency = str(body.get("currency") or "NGN").upper()
        if currency not in CURRENCIES:
            return fail(400, "Currency not supported by merchant", code="unsupported_currency")
        s.transaction_ids += 1
        now = _now()
        plan = {
            "currency": currency,
            "name": name,
            "amount": amount,
            "interval": interval,
            "integration": 412829,
            "domain": "live" if key.startswith("sk_live_") else "test",
            "plan_code": "PLN_" + "".join(secrets.choice(_LOWER_ALNUM) for _ in range(15)),
            "invoice_limit": _int(body.get("invoice_limit")) or 0,
            "send_invoices": bool(body.get("send_invoices", True)),
            "send_sms": bool(body.get("send_sms", True)),
            "description": body.get("description"),
            "hosted_page": False,
            "migrate": False,
            "is_archived": False,
            "id": s.transaction_ids,
            "createdAt": now,
            "updatedAt": now,
        }
        s.state.put(f"plan:{plan['plan_code']}", plan, owner=account)
        return ok("Plan created", plan)

    async def create_subscription(request: Request, account: str, key: str) -> Response:
        body = await read_body(request)
        if body is None:
            return fail(400, "Invalid JSON", code="invalid_params")
        plan = s.state.get(f"plan:{body.get('plan')}", owner=account)
        if plan is None:
            return fail(404, "Plan not found")
        email = str(body.get("customer") or "")
        saved = s.state.get(f"auth:{account}:{email}", owner=account)
        code = body.get("authorization")
        if saved is None or (code and code != saved["authorization_code"]):
            return fail(400, "This customer has no reusable authorization", code="invalid_params")
        s.transaction_ids += 1
        now = datetime.now(UTC)
        sub = {
            "id": s.transaction_ids,
            "plan": plan,
            "authorization": saved,
            "status": "active",
            "subscription_code": "SUB_" + "".join(secrets.choice(_LOWER_ALNUM) for _ in range(15)),
            "email_token": "".join(secrets.choice(_LOWER_ALNUM) for _ in range(20)),
            "created_at": _now(),
            "next_payment_date": (now + _INTERVALS[plan["interval"]]).strftime(_TIME_FORMAT),
            "cron_expression": f"{now.minute} {now.hour} {now.day} * *",
        }
        s.state.put(f"sub:{sub['subscription_code']}", sub, owner=account)
        customer = saved["customer"]
        return ok(
            "Subscription successfully created",
            {
                "customer": customer["id"],
                "plan": plan["id"],
                "integration": 412829,
                "domain": plan["domain"],
                "start": int(now.timestamp()),
                "status": "active",
                "quantity": 1,
                "amount": plan["amount"],
                "authorization": sub["id"],
                "invoice_limit": plan["invoice_limit"],
                "split_code": None,
                "subscription_code": sub["subscription_code"],
                "email_token": sub["email_token"],
                "id": sub["id"],
                "cancelledAt": None,
                "createdAt": sub["created_at"],
                "updatedAt": sub["created_at"],
                "cron_expression": sub["cron_expression"],
                "next_payment_date": sub["next_payment_date"],
                "easy_cron_id": None,
                "open_invoice": None,
                "metadata": None,
            },
        )

    async def fetch_subscription(request: Request, account: str, key: str) -> Response:
        sub = s.state.get(f"sub:{request.path_params['code']}", owner=account)
        if sub is None:
            return fail(404, "Subscription not found")
        plan, auth = sub["plan"], sub["authorization"]
        customer = auth["customer"]
        return ok(
            "Subscription retrieved successfully",
            {
                "id": sub["id"],
                "domain": plan["domain"],
                "status": sub["status"],
                "subscription_code": sub["subscription_code"],
                "email_token": sub["email_token"],
                "amount": plan["amount"],
                "cron_expression": sub["cron_expression"],
                "next_payment_date": sub["next_payment_date"],
                "open_invoice": None,
                "createdAt": sub["created_at"],
                "cancelledAt": sub.get("cancelled_at"),
                "integration": 412829,
                "plan": {k: plan[k] for k in _PLAN_SUMMARY},
                "authorization": {k: v for k, v in auth.items() if k != "customer"},
                "customer": {
                    **{k: customer[k] or "" for k in ("first_name", "last_name", "phone")},
                    "id": customer["id"],
                    "email": customer["email"],
                    "customer_code": customer["customer_code"],
                    "metadata": {},
                    "risk_action": customer["risk_action"],
                    "international_format_phone": "",
                },
                "invoices": [],
                "invoices_history": [],
                "invoice_limit": plan["invoice_limit"],
                "split_code": None,
                "most_recent_invoice": None,
                "payments_count": 0,
                "metadata": None,
            },
        )

    async def toggle_subscription(request: Request, account: str, key: str) -> Response:
        body = await read_body(request) or {}
        enable = request.url.path.endswith("/enable")
        sub = s.state.get(f"sub:{body.get('code')}", owner=account)
        if sub is None or body.get("token") != sub["email_token"]:
            return fail(400, "Subscription with code not found or already inactive")
        if enable == (sub["status"] == "active"):
            state = "active" if enable else "inactive"
            return fail(400, f"Subscription with code already {state}")
        sub["status"] = "active" if enable else "non-renewing"
        sub["cancelled_at"] = None if enable else _now()
        event = "subscription.enable" if enable else "subscription.disable"
        s._notify(
            account,
            key,
            event,
            {
                "subscription_code": sub["subscription_code"],
                "status": sub["status"],
                "id": sub["id"],
            },
        )
        verb = "enabled" if enable else "disabled"
        return JSONResponse({"status": True, "message": f"Subscription {verb} successfully"})

    return [
        Route("/plan", api(create_plan), methods=["POST"]),
        Route("/subscription", api(create_subscription), methods=["POST"]),
        Route("/subscription/disable", api(toggle_subscription), methods=["POST"]),
        Route("/subscription/enable", api(toggle_subscription), methods=["POST"]),
        Route("/subscription/{code}", api(fetch_subscription), methods=["GET"]),
    ]
