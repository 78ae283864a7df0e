"""PayPal's REST API in memory: OAuth, Orders v2, Payments v2 (in `paypal_payments`),
Subscriptions v1 (in `paypal_billing`) and webhooks (in `paypal_webhooks`).

Wire format as PayPal's (paths, JSON fields and error names from PayPal's published OpenAPI
documents): `POST /v1/oauth2/token` with Basic `client_id:secret` (the first secret seen
for a client id is bound to it), then `Authorization: Bearer`; `PayPal-Request-Id` replays
the first answer; `Prefer: return=representation` for full objects (minimal by default);
ids of 17 upper-case characters, plans `P-…`, subscriptions `I-…`; errors as
`{name, message, details: [{issue, description}], debug_id, links}`.

Webhooks are signed as PayPal signs them: `PAYPAL-TRANSMISSION-SIG` is RSA-SHA256 over
`transmission_id|transmission_time|webhook_id|crc32(body)` with this sandbox's key, whose
certificate `PAYPAL-CERT-URL` points at (`GET /v1/notifications/certs/{id}`), and
`POST /v1/notifications/verify-webhook-signature` checks them.

Test hooks: `GET /_sandbox/checkoutnow?token={order or subscription id}&outcome=approve|
decline|cancel` (the payer's approval page), `POST /_sandbox/webhooks` `{event_type,
object_id, webhook_id, url?}`.
"""

from __future__ import annotations

import json
import secrets as random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from moneyrail.sandbox.paypal.wire import (
    ZERO_DECIMAL,
    Body,
    Handler,
    activate,
    error,
    fmt,
    link,
    money,
    now_iso,
)
from moneyrail.sandbox.state import (
    HOOK_PREFIX,
    UPPER_ALPHANUMERIC,
    SandboxError,
    SandboxState,
    StoredResponse,
    basic_credentials,
    bearer_token,
    mount_url,
    new_id,
)


class PayPalSandbox:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.secrets: dict[str, str] = state.extra.setdefault("paypal_secrets", {})
        self.tokens: dict[str, str] = state.extra.setdefault("paypal_tokens", {})

    # --- plumbing ---------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        creds = basic_credentials(request)
        if (
            creds is None
            or not creds[0]
            or not creds[1]
            or self.secrets.setdefault(creds[0], creds[1]) != creds[1]
        ):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "Client Authentication failed"},
                status_code=401,
            )
        form = dict(await request.form())
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"},
                status_code=400,
            )
        access_token = "A21AA" + random.token_urlsafe(48)
        self.tokens[access_token] = creds[0]
        return JSONResponse(
            {
                "scope": "https://uri.paypal.com/services/payments/payment",
                "access_token": access_token,
                "token_type": "Bearer",
                "app_id": "APP-80W284485P519543T",
                "expires_in": 32400,
                "nonce": f"{now_iso()}{new_id('', 20)}",
            }
        )

    def get(self, kind: str, obj_id: str, owner: str) -> Body:
        obj = self.state.get(obj_id, owner=owner)
        if obj is None or obj.get("_kind") != kind:
            raise error(
                404,
                "INVALID_RESOURCE_ID",
                "Specified resource ID does not exist. Please check the resource ID and try again.",
            )
        return obj

    def endpoint(
        self, handler: Handler, *, minimal: tuple[str, ...] = ()
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                token = bearer_token(request)
                owner = self.tokens.get(token or "")
                if owner is None:
                    raise error(401)
                body: Body = {}
                if request.method == "POST":
                    raw = await request.body()
                    try:
                        body = json.loads(raw) if raw.strip() else {}
                    except ValueError as exc:
                        raise error(
                            400, "MALFORMED_REQUEST_JSON", "The request JSON is not well formed."
                        ) from exc
                request_id = request.headers.get("paypal-request-id")
                replay_key = f"{request.url.path}#{request_id}"
                if request_id and request.method == "POST":
                    stored = self.state.replay(owner, replay_key)
                    if stored is not None:
                        return (
                            JSONResponse(stored.body, stored.status)
                            if stored.body is not None
                            else Response(status_code=stored.status)
                        )
                status, result = await handler(body, owner, request)
                if result is not None:
                    result = self.view(result, request, minimal)
                if request_id and request.method == "POST":
                    self.state.remember(owner, replay_key, StoredResponse("", status, result))
                return (
                    JSONResponse(result, status)
                    if result is not None
                    else Response(status_code=status)
                )
            except SandboxError as exc:
                return exc.response()

        return run

    def view(self, obj: Body, request: Request, minimal: tuple[str, ...]) -> Body:
        out = {k: v for k, v in obj.items() if not k.startswith("_")}
        base = mount_url(request)
        out["links"] = [
            dict(item, href=base + item["href"]) if item["href"].startswith("/") else item
            for item in out.get("links", [])
        ]
        if minimal and "return=representation" not in request.headers.get("prefer", ""):
            return {k: out[k] for k in minimal if k in out}
        return out

    # --- orders -----------------------------------------------------------------------------

    async def create_order(self, body: Body, owner: str, request: Request) -> tuple[int, Body]:
        intent = body.get("intent")
        if intent not in ("CAPTURE", "AUTHORIZE"):
            raise error(
                400,
                "INVALID_PARAMETER_VALUE" if intent else "MISSING_REQUIRED_PARAMETER",
                "The value of a field is invalid.",
                field="/intent",
            )
        units = body.get("purchase_units")
        if not isinstance(units, list) or not 1 <= len(units) <= 10:
            raise error(
                400,
                "MISSING_REQUIRED_PARAMETER",
                "A required field / parameter is missing.",
                field="/purchase_units",
            )
        order_id = new_id("", 17, UPPER_ALPHANUMERIC)
        purchase_units = []
        for unit in units:
            pu = {
                "reference_id": unit.get("reference_id") or "default",
                "amount": money(
                    unit.get("amount"), "/purchase_units/@reference_id=='default'/amount"
                ),
                "payee": {
                    "email_address": "merchant@example.com",
                    "merchant_id": "SANDBXMERCH23",
                },
            }
            pu.update(
                {
                    k: unit[k]
                    for k in ("custom_id", "invoice_id", "description", "soft_descriptor")
                    if unit.get(k)
                }
            )
            purchase_units.append(pu)
        source = (body.get("payment_source") or {}).get("paypal")
        path = f"/v2/checkout/orders/{order_id}"
        approve = f"{HOOK_PREFIX}/checkoutnow?{urlencode({'token': order_id})}"
        order = {
            "id": order_id,
            "intent": intent,
            "status": "PAYER_ACTION_REQUIRED" if source else "CREATED",
            "purchase_units": purchase_units,
            "create_time": now_iso(),
            "links": [
                link(path, "self"),
                link(approve, "payer-action" if source else "approve"),
                link(path, "update", "PATCH"),
                link(f"{path}/{intent.lower()}", intent.lower(), "POST"),
            ],
            "_kind": "order",
            "_return_url": ((source or {}).get("experience_context") or {}).get("return_url"),
        }
        if source:
            order["payment_source"] = {"paypal": {}}
        self.state.put(order_id, order, owner=owner)
        return 201, order

    async def get_order(self, body: Body, owner: str, request: Request) -> tuple[int, Body]:
        return 200, self.get("order", request.path_params["id"], owner)

    def _ready(self, order: Body, action: str) -> None:
        approve_hint = "Payer has not yet approved the Order for payment. Please redirect the payer to the 'rel':'approve' url returned as part of the HATEOAS links within the Create Order call"
        if order["status"] == "COMPLETED":
            if action == "CAPTURE":
                raise error(
                    422,
                    "ORDER_ALREADY_CAPTURED",
                    "Order already captured.If 'intent=CAPTURE' only one capture per order is allowed.",
                )
            raise error(
                422,
                "ORDER_ALREADY_AUTHORIZED",
                "Order already authorized.If 'intent=AUTHORIZE' only one authorization per order is allowed.",
            )
        if order["intent"] != action:
            raise error(
                422,
                "ACTION_DOES_NOT_MATCH_INTENT",
                f"Order was created with an intent to '{order['intent']}'. Please use v2/checkout/orders/order_id/{order['intent'].lower()} to complete the transaction or alternately Create an order with an intent of '{action}'.",
            )
        if order["status"] != "APPROVED":
            if action == "CAPTURE":
                raise error(
                    422,
                    "ORDER_NOT_APPROVED",
                    approve_hint + " or provide a valid `payment_source` in the request.",
                )
            raise error(422, "ORDER_NOT_APPROVED", approve_hint + ".")
        if order.get("_declined"):
            raise error(
                422,
                "INSTRUMENT_DECLINED",
                "The instrument presented  was either declined by the processor or bank, or it can't be used for this payment.",
            )

    def new_capture(
        self,
        order: Body,
        amount: Body,
        owner: str,
        *,
        authorization_id: str | None = None,
        final: bool = True,
    ) -> Body:
        capture_id = new_id("", 17, UPPER_ALPHANUMERIC)
        gross = Decimal(amount["value"])
        fee = (
            (gross * Decimal("0.0349") + Decimal("0.49")).quantize(Decimal("0.01"))
            if amount["currency_code"] not in ZERO_DECIMAL
            else Decimal(0)
        )
        pu = order["purchase_units"][0]
        related: Body = {"order_id": order["id"]}
        if authorization_id:
            related["authorization_id"] = authorization_id
        capture = {
            "id": capture_id,
            "status": "COMPLETED",
            "amount": dict(amount),
            "final_capture": final,
            "seller_protection": {
                "status": "ELIGIBLE",
                "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"],
            },
            "seller_receivable_breakdown": {
                "gross_amount": dict(amount),
                "paypal_fee": {
                    "currency_code": amount["currency_code"],
                    "value": fmt(fee, amount["currency_code"]),
                },
                "net_amount": {
                    "currency_code": amount["currency_code"],
                    "value": fmt(gross - fee, amount["currency_code"]),
                },
            },
            "supplementary_data": {"related_ids": related},
            "create_time": now_iso(),
            "update_time": now_iso(),
            "links": [
                link(f"/v2/payments/captures/{capture_id}", "self"),
                link(f"/v2/payments/captures/{capture_id}/refund", "refund", "POST"),
                link(f"/v2/checkout/orders/{order['id']}", "up"),
            ],
            "_kind": "capture",
            "_refunded": "0",
        }
        capture.update({k: pu[k] for k in ("custom_id", "invoice_id") if k in pu})
        pu.setdefault("payments", {}).setdefault("captures", []).append(capture)
        return self.state.put(capture_id, capture, owner=owner)

    def payer(self, order: Body) -> None:
        order["payer"] = {
            "name": {"given_name": "Sandbox", "surname": "Buyer"},
            "email_address": "buyer@example.com",
            "payer_id": "SANDBXPAYER23",
            "address": {"country_code": "US"},
        }

    async def capture_order(self, body: Body, owner: str, request: Request) -> tuple[int, Body]:
        order = self.get("order", request.path_params["id"], owner)
        self._ready(order, "CAPTURE")
        self.new_capture(order, order["purchase_units"][0]["amount"], owner)
        order.update(status="COMPLETED", update_time=now_iso())
        return 201, order

    async def authorize_order(self, body: Body, owner: str, request: Request) -> tuple[int, Body]:
        order = self.get("order", request.path_params["id"], owner)
        self._ready(order, "AUTHORIZE")
        auth_id = new_id("", 17, UPPER_ALPHANUMERIC)
        pu = order["purchase_units"][0]
        authorization = {
            "id": auth_id,
            "status": "CREATED",
            "amount": dict(pu["amount"]),
            "seller_protection": {"status": "ELIGIBLE"},
            "expiration_time": (datetime.now(UTC) + timedelta(days=29)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "supplementary_data": {"related_ids": {"order_id": order["id"]}},
            "create_time": now_iso(),
            "update_time": now_iso(),
            "links": [
                link(f"/v2/payments/authorizations/{auth_id}", "self"),
                link(f"/v2/payments/authorizations/{auth_id}/capture", "capture", "POST"),
                link(f"/v2/payments/authorizations/{auth_id}/void", "void", "POST"),
                link(f"/v2/checkout/orders/{order['id']}", "up"),
            ],
            "_kind": "authorization",
            "_captured": "0",
        }
        authorization.update({k: pu[k] for k in ("custom_id", "invoice_id") if k in pu})
        pu.setdefault("payments", {}).setdefault("authorizations", []).append(authorization)
        self.state.put(auth_id, authorization, owner=owner)
        order.update(status="COMPLETED", update_time=now_iso())
        return 201, order

    # --- test hooks and webhooks ------------------------------------------------------------

    async def hook_checkout(self, request: Request) -> Response:
        obj_id = request.query_params.get("token", "")
        obj = self.state.get(obj_id)
        if obj is None or obj.get("_kind") not in ("order", "subscription"):
            return error(
                404, "INVALID_RESOURCE_ID", "Specified resource ID does not exist."
            ).response()
        outcome = request.query_params.get("outcome", "approve")
        if (
            obj["_kind"] == "order"
            and obj["status"] in ("CREATED", "PAYER_ACTION_REQUIRED")
            and outcome != "cancel"
        ):
            self.payer(obj)
            obj.update(status="APPROVED", _declined=outcome == "decline", update_time=now_iso())
        elif (
            obj["_kind"] == "subscription"
            and obj["status"] == "APPROVAL_PENDING"
            and outcome != "cancel"
        ):
            activate(obj)
        target = obj.get("_return_url")
        if target:
            query = (
                {"token": obj_id, "PayerID": "SANDBXPAYER23"}
                if obj["_kind"] == "order"
                else {"subscription_id": obj_id, "ba_token": f"BA-{obj_id[2:]}"}
            )
            return RedirectResponse(
                f"{target}{'&' if '?' in target else '?'}{urlencode(query)}", status_code=302
            )
        return JSONResponse({"id": obj_id, "status": obj["status"]})
