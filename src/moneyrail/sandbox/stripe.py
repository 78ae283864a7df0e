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
`GET /_sandbox/3ds/{id}` completes. Test hooks: `POST /_sandbox/payment_intents/{id}/
succeed|fail|require_action`, `POST /_sandbox/subscriptions/{id}/activate`, and
`POST /_sandbox/webhooks` `{type, object_id, secret|secrets, url?, timestamp?}`, which
returns (and, given a URL, delivers) an event signed as Stripe signs it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from moneyrail.connectors.webhook_signatures import stripe_signature_header
from moneyrail.sandbox.state import (
    HOOK_PREFIX,
    FaultMiddleware,
    SandboxError,
    SandboxState,
    StoredResponse,
    basic_credentials,
    bearer_token,
    fingerprint,
    hook_routes,
    mount_url,
    new_id,
    signed_webhook_response,
)

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
Params = dict[str, Any]


def parse_params(raw: bytes | str) -> Params:
    """Stripe's bracketed form encoding to nested dicts and lists."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    root: Params = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        head, _, rest = key.partition("[")
        path = [head, *re.findall(r"\[([^\]]*)\]", "[" + rest)] if rest else [head]
        node: Any = root
        for i, part in enumerate(path):
            last = i == len(path) - 1
            slot = str(len(node)) if part == "" else part
            if last:
                node[slot] = value
            else:
                node = node.setdefault(slot, {})
    parsed: Params = _listify(root)
    return parsed


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {k: _listify(v) for k, v in node.items()}
        if converted and all(k.isdigit() for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    return node


def error(
    status: int, message: str, *, type_: str = "invalid_request_error", **fields: Any
) -> SandboxError:
    body = {
        "error": {
            "type": type_,
            "message": message,
            **{k: v for k, v in fields.items() if v is not None},
        }
    }
    return SandboxError(status, body, {"Request-Id": new_id("req_", 14)})


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the API shows it (the sandbox keeps private notes under `_` keys)."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def missing(obj: str, obj_id: str) -> SandboxError:
    return error(404, f"No such {obj}: '{obj_id}'", code="resource_missing", param="id")


def _int(params: Params, name: str, *, required: bool = False) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        if required:
            raise error(
                400, f"Missing required param: {name}.", code="parameter_missing", param=name
            )
        return None
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise error(
            400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=name
        ) from exc
    if number < 1:
        raise error(
            400,
            "This value must be greater than or equal to 1.",
            code="parameter_invalid_integer",
            param=name,
        )
    return number


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

    # --- refunds ----------------------------------------------------------------------------

    async def create_refund(
        self, p: Params, owner: str, request: Request
    ) -> tuple[int, dict[str, Any]]:
        if p.get("payment_intent"):
            intent = self.get("payment_intent", p["payment_intent"], owner)
            charge = self.state.get(intent.get("latest_charge") or "", owner=owner)
        elif p.get("charge"):
            charge = self.get("charge", p["charge"], owner)
        else:
            raise error(
                400,
                "One of the following params should be provided for this request: payment_intent or charge.",
                code="parameter_missing",
            )
        if charge is None or not charge.get("captured") or charge.get("status") != "succeeded":
            raise error(
                400,
                "This PaymentIntent does not have a successful charge to refund.",
                code="charge_not_refundable" if charge else "resource_missing",
            )
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        if remaining <= 0:
            raise error(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = _int(p, "amount") or remaining
        if amount > remaining:
            raise error(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
                code="amount_too_large",
                param="amount",
            )
        reason = p.get("reason")
        if reason not in (None, "", "duplicate", "fraudulent", "requested_by_customer"):
            raise error(
                400,
                "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
                param="reason",
            )
        refund_id = new_id("re_", 24)
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "balance_transaction": None,
            "charge": charge["id"],
            "created": int(time.time()),
            "currency": charge["currency"],
            "metadata": p.get("metadata") or {},
            "payment_intent": charge.get("payment_intent"),
            "reason": reason or None,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
        self.state.put(refund_id, refund, owner=owner)
        return 200, refund

    async def get_refund(
        self, p: Params, owner: str, request: Request
    ) -> tuple[int, dict[str, Any]]:
        return 200, self.get("refund", request.path_params["id"], owner)

    # --- test hooks -------------------------------------------------------------------------

    def _hook_intent(self, request: Request) -> tuple[dict[str, Any], str]:
        pi_id = request.path_params["id"]
        owner = self.state.owner_of(pi_id)
        pi = self.state.get(pi_id)
        if pi is None or owner is None or pi.get("object") != "payment_intent":
            raise missing("payment_intent", pi_id)
        return pi, owner

    async def hook_outcome(self, request: Request) -> Response:
        try:
            pi, owner = self._hook_intent(request)
            outcome = request.path_params["outcome"]
            if pi["status"] not in (
                "requires_payment_method",
                "requires_confirmation",
                "requires_action",
                "processing",
            ):
                raise error(
                    400, f"payment intent is {pi['status']}", code="payment_intent_unexpected_state"
                )
            pi["payment_method"] = pi.get("payment_method") or "pm_card_visa"
            if outcome == "succeed":
                self.succeed(pi, owner)
            elif outcome == "fail":
                self.decline(pi, owner)
            elif outcome == "require_action":
                self.require_action(pi, mount_url(request))
            else:
                raise error(404, f"unknown outcome {outcome}")
            return JSONResponse(public(pi))
        except SandboxError as exc:
            return exc.response()

    async def hook_3ds(self, request: Request) -> Response:
        try:
            pi, owner = self._hook_intent(request)
        except SandboxError as exc:
            return exc.response()
        if pi["status"] == "requires_action":
            if request.query_params.get("outcome") == "fail":
                self.decline(pi, owner)
            else:
                self.succeed(pi, owner)
        return_url = pi.get("_return_url")
        if return_url:
            query = urlencode(
                {
                    "payment_intent": pi["id"],
                    "payment_intent_client_secret": pi["client_secret"],
                    "redirect_status": "succeeded"
                    if pi["status"] != "requires_payment_method"
                    else "failed",
                }
            )
            return RedirectResponse(
                f"{return_url}{'&' if '?' in return_url else '?'}{query}", status_code=302
            )
        return JSONResponse({"id": pi["id"], "status": pi["status"]})

    async def hook_webhook(self, request: Request) -> Response:
        spec = await request.json()
        obj_id = str(spec.get("object_id") or "")
        obj = self.state.get(obj_id)
        if obj is None:
            return missing("object", obj_id).response()
        secrets = spec.get("secrets") or [spec.get("secret")]
        if not all(isinstance(s, str) and s for s in secrets):
            return JSONResponse({"error": "secret or secrets is required"}, status_code=400)
        event = {
            "id": new_id("evt_", 24),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": public(obj)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": spec.get("type") or f"{obj['object']}.updated",
        }
        body = json.dumps(event, indent=2).encode()
        timestamp = int(spec.get("timestamp") or time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": stripe_signature_header(body, secrets, timestamp),
        }
        return await signed_webhook_response(headers=headers, body=body, url=spec.get("url"))


def create_app() -> Starlette:
    from moneyrail.sandbox.stripe_billing import billing_routes

    state = SandboxState()
    s = StripeSandbox(state)
    e = s.endpoint
    routes = [
        Route("/v1/payment_intents", e(s.create_intent), methods=["POST"]),
        Route("/v1/payment_intents/{id}", e(s.get_intent), methods=["GET"]),
        Route("/v1/payment_intents/{id}/confirm", e(s.confirm), methods=["POST"]),
        Route("/v1/payment_intents/{id}/capture", e(s.capture), methods=["POST"]),
        Route("/v1/payment_intents/{id}/cancel", e(s.cancel), methods=["POST"]),
        Route("/v1/refunds", e(s.create_refund), methods=["POST"]),
        Route("/v1/refunds/{id}", e(s.get_refund), methods=["GET"]),
        Route(
            f"{HOOK_PREFIX}/payment_intents/{{id}}/{{outcome}}", s.hook_outcome, methods=["POST"]
        ),
        Route(f"{HOOK_PREFIX}/3ds/{{id}}", s.hook_3ds, methods=["GET"]),
        Route(f"{HOOK_PREFIX}/webhooks", s.hook_webhook, methods=["POST"]),
        *billing_routes(s),
        *hook_routes(state),
    ]

    def unavailable() -> Response:
        return error(503, "Stripe is temporarily unavailable.", type_="api_error").response()

    return Starlette(
        routes=routes,
        middleware=[Middleware(FaultMiddleware, state=state, unavailable=unavailable)],
    )
