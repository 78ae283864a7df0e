"""Razorpay's API in memory: orders, payments, captures, refunds, plans and subscriptions.

Wire format as Razorpay's: JSON bodies, HTTP Basic `key_id:key_secret` (test keys
`rzp_test_…`; the first secret seen for a key id is bound to it, a different one is then
refused), ids like `order_` + 14 characters, amounts in paise, errors as
`{"error": {code, description, field, source, step, reason, metadata}}`.

Razorpay's Checkout (a browser widget) is stood in for by test hooks (see `razorpay_hooks`):
`GET /_sandbox/checkout/{order_id}?outcome=succeed|fail` pays an order the way a customer
would and answers Checkout's `razorpay_payment_id`, `razorpay_order_id` and
`razorpay_signature` (HMAC-SHA256 of `order_id|payment_id` with the key secret);
`GET /_sandbox/subscriptions/{id}/authenticate` completes a subscription's mandate;
`POST /_sandbox/payments/{order_or_payment_id}/succeed|fail`; and
`POST /_sandbox/webhooks` `{event, object_id, secret, url?}` signs (and delivers) a webhook
with `X-Razorpay-Signature` and `X-Razorpay-Event-Id`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from moneyrail.sandbox.state import (
    SandboxError,
    SandboxState,
    basic_credentials,
    new_id,
)

PERIODS = {"daily": 86_400, "weekly": 604_800, "monthly": 2_592_000, "yearly": 31_536_000}
Body = dict[str, Any]
Handler = Callable[[Body, str, Request], Awaitable[Body]]


def error(
    status: int, description: str, *, code: str = "BAD_REQUEST_ERROR", field: str | None = None
) -> SandboxError:
    return SandboxError(
        status,
        {
            "error": {
                "code": code,
                "description": description,
                "source": "business" if status < 500 else "internal",
                "step": "payment_initiation",
                "reason": "input_validation_failed" if status < 500 else "server_error",
                "metadata": {},
                "field": field,
            }
        },
    )


def notes_of(body: Body) -> Any:
    notes = body.get("notes")
    return notes if isinstance(notes, dict) and notes else []


def _amount(body: Body, name: str = "amount", *, minimum: int = 100) -> int:
    value = body.get(name)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise error(
            400,
            f"The {name} field is required."
            if value is None
            else f"The {name} must be an integer.",
            field=name,
        )
    if value < minimum:
        raise error(400, f"The {name} must be atleast INR {minimum / 100:.2f}.", field=name)
    return value


class RazorpaySandbox:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.secrets: dict[str, str] = state.extra.setdefault("razorpay_secrets", {})

    def account(self, request: Request) -> str:
        creds = basic_credentials(request)
        if creds is None or not creds[0]:
            raise error(401, "Please provide your api key for authentication purposes.")
        key_id, key_secret = creds
        if not key_id.startswith("rzp_test_") or not key_secret:
            raise error(401, "The api key provided is invalid")
        bound = self.secrets.setdefault(key_id, key_secret)
        if bound != key_secret:
            raise error(401, "The api key/secret provided is invalid")
        return key_id

    def get(self, entity: str, obj_id: str, owner: str) -> Body:
        obj = self.state.get(obj_id, owner=owner)
        if obj is None or obj.get("entity") != entity:
            raise error(400, "The id provided does not exist", field="id")
        return obj

    def endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                owner = self.account(request)
                body: Body = {}
                if request.method == "POST":
                    raw = await request.body()
                    try:
                        body = json.loads(raw) if raw else {}
                    except ValueError as exc:
                        raise error(400, "The request body is not valid JSON.") from exc
                    if not isinstance(body, dict):
                        raise error(400, "The request body must be a JSON object.")
                else:
                    body = dict(request.query_params)
                return JSONResponse(await handler(body, owner, request))
            except SandboxError as exc:
                return exc.response()

        return run

    # --- orders and payments ----------------------------------------------------------------

    async def create_order(self, body: Body, owner: str, request: Request) -> Body:
        amount = _amount(body)
        currency = body.get("currency")
        if not isinstance(currency, str) or len(currency) != 3:
            raise error(400, "The currency field is required.", field="currency")
        receipt = body.get("receipt")
        if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
            raise error(400, "receipt: the length must be no more than 40.", field="receipt")
        capture = body.get(
            "payment_capture", (body.get("payment") or {}).get("capture", "automatic")
        )
        order_id = new_id("order_")
        order = {
            "id": order_id,
            "entity": "order",
            "amount": amount,
            "amount_paid": 0,
            "amount_due": amount,
            "currency": currency.upper(),
            "receipt": receipt,
            "offer_id": None,
            "status": "created",
            "attempts": 0,
            "notes": notes_of(body),
            "created_at": int(time.time()),
            "_auto_capture": capture in (True, 1, "1", "true", "automatic"),
        }
        self.state.put(order_id, order, owner=owner)
        return public(order)

    async def list_orders(self, body: Body, owner: str, request: Request) -> Body:
        receipt = body.get("receipt")
        items = [
            public(o)
            for i, o in self.state.objects.items()
            if o.get("entity") == "order"
            and self.state.owner_of(i) == owner
            and (receipt is None or o.get("receipt") == receipt)
        ]
        items.reverse()
        return {"entity": "collection", "count": len(items), "items": items}

    async def get_order(self, body: Body, owner: str, request: Request) -> Body:
        return public(self.get("order", request.path_params["id"], owner))

    async def order_payments(self, body: Body, owner: str, request: Request) -> Body:
        order = self.get("order", request.path_params["id"], owner)
        items = [public(self.state.objects[p]) for p in order.get("_payments", [])]
        return {"entity": "collection", "count": len(items), "items": items}

    async def get_payment(self, body: Body, owner: str, request: Request) -> Body:
        return public(self.get("payment", request.path_params["id"], owner))

    async def capture(self, body: Body, owner: str, request: Request) -> Body:
        payment = self.get("payment", request.path_params["id"], owner)
        amount = _amount(body, minimum=1)
        if payment["status"] != "authorized":
            if payment["captured"]:
                raise error(400, "This payment has already been captured")
            raise error(
                400, "Only payments which have been authorized and not yet captured can be captured"
            )
        if amount != payment["amount"]:
            raise error(
                400, "Capture amount must be equal to the amount authorized", field="amount"
            )
        if body.get("currency") and str(body["currency"]).upper() != payment["currency"]:
            raise error(
                400, "The currency should be same as the payment currency", field="currency"
            )
        self._capture(payment)
        return public(payment)

    def _capture(self, payment: Body) -> None:
        payment.update(status="captured", captured=True)
        order = self.state.objects.get(payment.get("order_id") or "")
        if order is not None:
            order.update(status="paid", amount_paid=payment["amount"], amount_due=0)

    async def refund(self, body: Body, owner: str, request: Request) -> Body:
        payment = self.get("payment", request.path_params["id"], owner)
        if not payment["captured"]:
            raise error(
                400, "The payment has not been captured. Only captured payments can be refunded"
            )
        remaining = payment["amount"] - payment["amount_refunded"]
        if remaining <= 0:
            raise error(400, "The payment has been fully refunded already")
        amount = _amount(body, minimum=1) if body.get("amount") is not None else remaining
        if amount > remaining:
            raise error(
                400, "The refund amount provided is greater than amount captured", field="amount"
            )
        refund_id = new_id("rfnd_")
        refund = {
            "id": refund_id,
            "entity": "refund",
            "amount": amount,
            "currency": payment["currency"],
            "payment_id": payment["id"],
            "notes": notes_of(body),
            "receipt": body.get("receipt"),
            "acquirer_data": {"arn": None},
            "created_at": int(time.time()),
            "batch_id": None,
            "status": "processed",
            "speed_processed": "normal",
            "speed_requested": body.get("speed") or "normal",
        }
        payment["amount_refunded"] += amount
        full = payment["amount_refunded"] >= payment["amount"]
        payment.update(
            refund_status="full" if full else "partial", status="refunded" if full else "captured"
        )
        self.state.put(refund_id, refund, owner=owner)
        return refund

    async def get_refund(self, body: Body, owner: str, request: Request) -> Body:
        return self.get("refund", request.path_params["id"], owner)

    # --- test hooks -------------------------------------------------------------------------

    def pay(self, order: Body, *, succeed: bool) -> Body:
        owner = self.state.owner_of(order["id"]) or ""
        pay_id = new_id("pay_")
        payment = {
            "id": pay_id,
            "entity": "payment",
            "amount": order["amount"],
            "currency": order["currency"],
            "status": "authorized" if succeed else "failed",
            "order_id": order["id"],
            "invoice_id": None,
            "international": False,
            "method": "card",
            "amount_refunded": 0,
            "refund_status": None,
            "captured": False,
            "description": None,
            "card_id": new_id("card_"),
            "bank": None,
            "wallet": None,
            "vpa": None,
            "email": "customer@example.com",
            "contact": "+919000090000",
            "notes": order["notes"],
            "fee": None,
            "tax": None,
            "error_code": None if succeed else "BAD_REQUEST_ERROR",
            "error_description": None
            if succeed
            else "Payment failed because the card was declined.",
            "error_source": None if succeed else "customer",
            "error_step": None if succeed else "payment_authorization",
            "error_reason": None if succeed else "payment_failed",
            "acquirer_data": {"auth_code": "828553" if succeed else None},
            "created_at": int(time.time()),
        }
        self.state.put(pay_id, payment, owner=owner)
        order.setdefault("_payments", []).append(pay_id)
        order["attempts"] += 1
        order["status"] = "attempted"
        if succeed:
            payment["fee"], payment["tax"] = (
                order["amount"] * 2 // 100,
                order["amount"] * 2 * 18 // 10_000,
            )
            if order.get("_auto_capture"):
                self._capture(payment)
        return payment


def public(obj: Body) -> Body:
    return {k: v for k, v in obj.items() if not k.startswith("_")}
