"""PayPal sandbox Payments v2: authorizations (get, capture in full or in part, void),
captures (get, refund) and refunds, in PayPal's wire format."""

from __future__ import annotations

from decimal import Decimal

from starlette.requests import Request
from starlette.routing import Route

from moneyrail.sandbox.paypal.routes import PayPalSandbox
from moneyrail.sandbox.paypal.wire import Body, error, fmt, link, money, now_iso
from moneyrail.sandbox.state import UPPER_ALPHANUMERIC, new_id


def payment_routes(s: PayPalSandbox) -> list[Route]:

    async def get_authorization(body: Body, owner: str, request: Request) -> tuple[int, Body]:
        return 200, s.get("authorization", request.path_params["id"], owner)

    async def capture_authorization(body: Body, owner: str, request: Request) -> tuple[int, Body]:
        auth = s.get("authorization", request.path_params["id"], owner)
        if auth["status"] == "VOIDED":
            raise error(
                422,
                "AUTHORIZATION_VOIDED",
                "A voided authorization cannot be captured or reauthorized. ",
            )
        if auth["status"] == "CAPTURED":
            raise error(
                422, "AUTHORIZATION_ALREADY_CAPTURED", "Authorization has previously been captured."
            )
        currency = auth["amount"]["currency_code"]
        amount = (
            money(body["amount"], "/amount")
            if body.get("amount")
            else {
                "currency_code": currency,
                "value": fmt(
                    Decimal(auth["amount"]["value"]) - Decimal(auth["_captured"]), currency
                ),
            }
        )
        if amount["currency_code"] != currency:
            raise error(
                422,
                "CURRENCY_MISMATCH",
                "Currency of capture must be the same as currency of authorization.",
            )
        captured = Decimal(auth["_captured"]) + Decimal(amount["value"])
        if captured > Decimal(auth["amount"]["value"]):
            raise error(
                422, "MAX_CAPTURE_AMOUNT_EXCEEDED", "Capture amount exceeds allowable limit."
            )
        order = s.state.objects[auth["supplementary_data"]["related_ids"]["order_id"]]
        final = bool(body.get("final_capture", True)) or captured == Decimal(
            auth["amount"]["value"]
        )
        capture = s.new_capture(order, amount, owner, authorization_id=auth["id"], final=final)
        auth.update(
            _captured=str(captured),
            status="CAPTURED" if final else "PARTIALLY_CAPTURED",
            update_time=now_iso(),
        )
        return 201, capture

    async def void_authorization(
        body: Body, owner: str, request: Request
    ) -> tuple[int, Body | None]:
        auth = s.get("authorization", request.path_params["id"], owner)
        if auth["status"] in ("CAPTURED", "PARTIALLY_CAPTURED"):
            raise error(
                422,
                "PREVIOUSLY_CAPTURED",
                "Authorization has been previously captured and hence cannot be voided.",
            )
        if auth["status"] == "VOIDED":
            raise error(
                422,
                "PREVIOUSLY_VOIDED",
                "Authorization has been previously voided and hence cannot be voided again.",
            )
        auth.update(status="VOIDED", update_time=now_iso())
        if "return=representation" in request.headers.get("prefer", ""):
            return 200, auth
        return 204, None

    async def get_capture(body: Body, owner: str, request: Request) -> tuple[int, Body]:
        return 200, s.get("capture", request.path_params["id"], owner)

    async def refund_capture(body: Body, owner: str, request: Request) -> tuple[int, Body]:
        capture = s.get("capture", request.path_params["id"], owner)
        currency = capture["amount"]["currency_code"]
        remaining = Decimal(capture["amount"]["value"]) - Decimal(capture["_refunded"])
        if remaining <= 0:
            raise error(
                422, "CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded"
            )
        amount = (
            money(body["amount"], "/amount")
            if body.get("amount")
            else {"currency_code": currency, "value": fmt(remaining, currency)}
        )
        if amount["currency_code"] != currency:
            raise error(
                422,
                "REFUND_CAPTURE_CURRENCY_MISMATCH",
                "Refund must be in the same currency as the capture",
            )
        if Decimal(amount["value"]) > remaining:
            raise error(
                422,
                "REFUND_AMOUNT_EXCEEDED",
                "The refund amount must be less than or equal to the capture amount that has not yet been refunded.",
            )
        refund_id = new_id("", 17, UPPER_ALPHANUMERIC)
        refund = {
            "id": refund_id,
            "status": "COMPLETED",
            "amount": amount,
            "note_to_payer": body.get("note_to_payer"),
            "seller_payable_breakdown": {
                "gross_amount": amount,
                "net_amount": amount,
                "total_refunded_amount": {
                    "currency_code": currency,
                    "value": fmt(
                        Decimal(capture["_refunded"]) + Decimal(amount["value"]), currency
                    ),
                },
            },
            "create_time": now_iso(),
            "update_time": now_iso(),
            "links": [
                link(f"/v2/payments/refunds/{refund_id}", "self"),
                link(f"/v2/payments/captures/{capture['id']}", "up"),
            ],
            "_kind": "refund",
        }
        if refund["note_to_payer"] is None:
            del refund["note_to_payer"]
        refunded = Decimal(capture["_refunded"]) + Decimal(amount["value"])
        capture.update(
            _refunded=str(refunded),
            status="REFUNDED"
            if refunded >= Decimal(capture["amount"]["value"])
            else "PARTIALLY_REFUNDED",
            update_time=now_iso(),
        )
        order = s.state.objects.get(capture["supplementary_data"]["related_ids"]["order_id"])
        if order is not None:
            order["purchase_units"][0].setdefault("payments", {}).setdefault("refunds", []).append(
                refund
            )
        s.state.put(refund_id, refund, owner=owner)
        return 201, refund

    async def get_refund(body: Body, owner: str, request: Request) -> tuple[int, Body]:
        return 200, s.get("refund", request.path_params["id"], owner)

    e = s.endpoint
    return [
        Route("/v2/payments/authorizations/{id}", e(get_authorization), methods=["GET"]),
        Route(
            "/v2/payments/authorizations/{id}/capture",
            e(capture_authorization, minimal=("id", "status", "links")),
            methods=["POST"],
        ),
        Route("/v2/payments/authorizations/{id}/void", e(void_authorization), methods=["POST"]),
        Route("/v2/payments/captures/{id}", e(get_capture), methods=["GET"]),
        Route(
            "/v2/payments/captures/{id}/refund",
            e(refund_capture, minimal=("id", "status", "links")),
            methods=["POST"],
        ),
        Route("/v2/payments/refunds/{id}", e(get_refund), methods=["GET"]),
    ]
