"""Stripe's API in memory: PaymentIntents, charges, refunds (and, in `stripe_billing`,
customers, prices and subscriptions).

Wire format as Stripe's: form-encoded bodies with bracketed nesting (`metadata[k]=v`,
`items[0][price]=…`, `expand[]=…`), `Authorization: Bearer sk_test_…` (or Basic with the
key as user name), `Idempotency-Key` replays (`Idempotent-Replayed: true`; a reused key with
other parameters is an `idempotency_error`), errors as `{"error": {type, code, message,
param}}`. Only test keys (`sk_test_…`, `rk_test_…`) are accepted.

Stripe's test payment methods decide a confirmation's outcome: `pm_card_visa` (and any
other `pm_…`) succeeds, `pm_card_chargeDeclined` is declined, `pm_card_threeDSecure2Required`
and `pm_card_authenticationRequired` need the customer (`next_action`), which
`GET /_sandbox/3ds/{id}` completes. Test hooks (in `stripe_hooks` and `stripe_billing`):
`POST /_sandbox/payment_intents/{id}/succeed|fail|require_action`,
`POST /_sandbox/subscriptions/{id}/activate`, and `POST /_sandbox/webhooks`
`{type, object_id, secret|secrets, url?, timestamp?}`, which returns (and, given a URL,
delivers) an event signed as Stripe signs it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from moneyrail.sandbox.state import (
    HOOK_PREFIX,
    SandboxError,
    SandboxState,
    StoredResponse,
    basic_credentials,
    bearer_token,
    fingerprint,
    mount_url,
    new_id,
)
from moneyrail.sandbox.stripe.wire import Params, _int, error, missing, parse_params, public

API_VERSION = "2024-06-20"
DECLINING_METHODS = {"pm_card_chargeDeclined", "pm_card_visa_chargeDeclined"}
ACTION_METHODS = {"pm_card_threeDSecure2Required", "pm_card_authenticationRequired"}
CANCELABLE = {
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
}


class StripeSandbox:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    # --- plumbing ---------------------------------------------------------------------------

    def account(self, request: Request) -> str:
        key = bearer_token(request)
        if key is None:
            basic = basic_credentials(request)
            key = basic[0] if basic else None
        if not key:
            raise error(
                401,
                "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        if not key.startswith(("sk_test_", "rk_test_")):
            raise error(401, f"Invalid API Key provided: {key[:8]}{'*' * 12}{key[-4:]}")
        return key

    def get(self, kind: str, obj_id: str, owner: str) -> dict[str, Any]:
        obj = self.state.get(obj_id, owner=owner)
        if obj is None or obj.get("object") != kind:
            raise missing(kind, obj_id)
        return obj

    def view(self, obj: dict[str, Any], expand: list[str], owner: str) -> dict[str, Any]:
        out = public(obj)
        for field in expand:
            ref = out.get(field)
            if isinstance(ref, str):
                found = self.state.get(ref, owner=owner)
                out[field] = public(found) if found else ref
        return out

    def endpoint(
        self, handler: Callable[[Params, str, Request], Awaitable[tuple[int, dict[str, Any]]]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            headers = {"Request-Id": new_id("req_", 14), "Stripe-Version": API_VERSION}
            try:
                owner = self.account(request)
                raw = await request.body() if request.method == "POST" else request.url.query
                params = parse_params(raw)
                key = request.headers.get("idempotency-key")
                print_ = fingerprint([request.method, request.url.path, params])
                if key and request.method == "POST":
                    stored = self.state.replay(owner, key)
                    if stored is not None:
                        if stored.fingerprint != print_:
                            raise error(
                                400,
                                f"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request.",
                                type_="idempotency_error",
                            )
                        return JSONResponse(
                            stored.body,
                            stored.status,
                            headers={**headers, "Idempotent-Replayed": "true"},
                        )
                try:
                    status, body = await handler(params, owner, request)
                except SandboxError as exc:
                    if key and request.method == "POST":
                        self.state.remember(
                            owner, key, StoredResponse(print_, exc.status, exc.body)
                        )
                    raise
                body = self.view(body, list(params.get("expand") or []), owner)
                if key and request.method == "POST":
                    self.state.remember(owner, key, StoredResponse(print_, status, body))
                return JSONResponse(body, status, headers=headers)
            except SandboxError as exc:
                return exc.response()

        return run

    # --- payment intents --------------------------------------------------------------------

    async def create_intent(
        self, p: Params, owner: str, request: Request
    ) -> tuple[int, dict[str, Any]]:
        amount = _int(p, "amount", required=True)
        currency = str(p.get("currency") or "").lower()
        if not currency:
            raise error(
                400, "Missing required param: currency.", code="parameter_missing", param="currency"
            )
        capture_method = p.get("capture_method") or "automatic"
        if capture_method not in ("automatic", "automatic_async", "manual"):
            raise error(400, f"Invalid capture_method: {capture_method}", param="capture_method")
        pi_id = new_id("pi_", 24)
        pi = {
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "application": None,
            "application_fee_amount": None,
            "automatic_payment_methods": p.get("automatic_payment_methods"),
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": capture_method,
            "client_secret": f"{pi_id}_secret_{new_id('', 25)}",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": currency,
            "customer": p.get("customer"),
            "description": p.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": p.get("metadata") or {},
            "next_action": None,
            "payment_method": p.get("payment_method"),
            "payment_method_types": ["card"],
            "receipt_email": p.get("receipt_email"),
            "status": "requires_payment_method",
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "transfer_group": None,
            "on_behalf_of": None,
            "setup_future_usage": None,
            "review": None,
            "shipping": None,
            "source": None,
            "processing": None,
        }
        if pi["payment_method"]:
            pi["status"] = "requires_confirmation"
        self.state.put(pi_id, pi, owner=owner)
        if str(p.get("confirm")).lower() == "true":
            self.confirm_intent(pi, owner, p, request)
        return 200, pi

    def confirm_intent(self, pi: dict[str, Any], owner: str, p: Params, request: Request) -> None:
        if pi["status"] not in (
            "requires_payment_method",
            "requires_confirmation",
            "requires_action",
        ):
            raise error(
                400,
                f"This PaymentIntent's status is {pi['status']}, but it must be one of requires_payment_method, requires_confirmation, requires_action to be confirmed.",
                code="payment_intent_unexpected_state",
            )
        method = p.get("payment_method") or pi.get("payment_method")
        if not method:
            raise error(
                400,
                "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent with cus, pass a `payment_method`.",
                code="payment_intent_unexpected_state",
            )
        pi["payment_method"] = method
        if p.get("return_url"):
            pi["_return_url"] = p["return_url"]
        if method in DECLINING_METHODS:
            self.decline(pi, owner)
            raise error(
                402,
                "Your card was declined.",
                type_="card_error",
                code="card_declined",
                decline_code="generic_decline",
                payment_intent=public(pi),
            )
        if method in ACTION_METHODS:
            self.require_action(pi, mount_url(request))
            return
        self.succeed(pi, owner)

    def succeed(self, pi: dict[str, Any], owner: str) -> None:
        charge_id = new_id("ch_", 24)
        manual = pi["capture_method"] == "manual"
        charge = {
            "id": charge_id,
            "object": "charge",
            "amount": pi["amount"],
            "amount_captured": 0 if manual else pi["amount"],
            "amount_refunded": 0,
            "captured": not manual,
            "refunded": False,
            "currency": pi["currency"],
            "created": int(time.time()),
            "paid": True,
            "status": "succeeded",
            "payment_intent": pi["id"],
            "payment_method": pi.get("payment_method"),
            "failure_code": None,
            "failure_message": None,
            "metadata": pi["metadata"],
            "livemode": False,
            "balance_transaction": None,
            "description": pi.get("description"),
        }
        self.state.put(charge_id, charge, owner=owner)
        pi.update(latest_charge=charge_id, next_action=None, last_payment_error=None)
        if manual:
            pi.update(status="requires_capture", amount_capturable=pi["amount"])
        else:
            pi.update(status="succeeded", amount_received=pi["amount"])

    def decline(self, pi: dict[str, Any], owner: str) -> None:
        charge_id = new_id("ch_", 24)
        self.state.put(
            charge_id,
            {
                "id": charge_id,
                "object": "charge",
                "amount": pi["amount"],
                "amount_captured": 0,
                "amount_refunded": 0,
                "captured": False,
                "refunded": False,
                "currency": pi["currency"],
                "created": int(time.time()),
                "paid": False,
                "status": "failed",
                "payment_intent": pi["id"],
                "payment_method": pi.get("payment_method"),
                "failure_code": "card_declined",
                "failure_message": "Your card was declined.",
                "metadata": pi["metadata"],
                "livemode": False,
            },
            owner=owner,
        )
        pi.update(
            status="requires_payment_method",
            latest_charge=charge_id,
            next_action=None,
            last_payment_error={
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
                "charge": charge_id,
            },
        )

    def require_action(self, pi: dict[str, Any], base_url: str) -> None:
        url = f"{base_url.rstrip('/')}{HOOK_PREFIX}/3ds/{pi['id']}"
        return_url = pi.get("_return_url")
        pi.update(
            status="requires_action",
            next_action={
                "type": "redirect_to_url",
                "redirect_to_url": {"url": url, "return_url": return_url},
            },
        )

    async def get_intent(
        self, p: Params, owner: str, request: Request
    ) -> tuple[int, dict[str, Any]]:
        return 200, self.get("payment_intent", request.path_params["id"], owner)

    async def confirm(self, p: Params, owner: str, request: Request) -> tuple[int, dict[str, Any]]:
        pi = self.get("payment_intent", request.path_params["id"], owner)
        self.confirm_intent(pi, owner, p, request)
        return 200, pi

    async def capture(self, p: Params, owner: str, request: Request) -> tuple[int, dict[str, Any]]:
        pi = self.get("payment_intent", request.path_params["id"], owner)
        if pi["status"] != "requires_capture":
            raise error(
                400,
                f"This PaymentIntent could not be captured because it has a status of {pi['status']}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.",
                code="payment_intent_unexpected_state",
            )
        amount = _int(p, "amount_to_capture") or pi["amount_capturable"]
        if amount > pi["amount_capturable"]:
            raise error(
                400,
                "The amount_to_capture must be less than or equal to the amount_capturable.",
                code="amount_too_large",
                param="amount_to_capture",
            )
        charge = self.state.get(pi["latest_charge"], owner=owner) or {}
        charge.update(captured=True, amount_captured=amount)
        pi.update(status="succeeded", amount_received=amount, amount_capturable=0)
        return 200, pi

    async def cancel(self, p: Params, owner: str, request: Request) -> tuple[int, dict[str, Any]]:
        pi = self.get("payment_intent", request.path_params["id"], owner)
        if pi["status"] not in CANCELABLE:
            raise error(
                400,
                f"You cannot cancel this PaymentIntent because it has a status of {pi['status']}. Only a PaymentIntent with one of the following statuses may be canceled: {', '.join(sorted(CANCELABLE))}.",
                code="payment_intent_unexpected_state",
            )
        pi.update(
            status="canceled",
            canceled_at=int(time.time()),
            cancellation_reason=p.get("cancellation_reason"),
            amount_capturable=0,
            next_action=None,
        )
        return 200, pi
