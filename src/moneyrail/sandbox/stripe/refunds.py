"""Stripe sandbox refunds (`POST /v1/refunds`, `GET /v1/refunds/{id}`) of a succeeded
PaymentIntent's charge, in Stripe's wire format."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from moneyrail.sandbox.state import new_id
from moneyrail.sandbox.stripe.routes import StripeSandbox
from moneyrail.sandbox.stripe.wire import Params, _int, error


def refund_routes(s: StripeSandbox) -> list[Route]:
    async def create_refund(p: Params, owner: str, request: Request) -> tuple[int, dict[str, Any]]:
        if p.get("payment_intent"):
            intent = s.get("payment_intent", p["payment_intent"], owner)
            charge = s.state.get(intent.get("latest_charge") or "", owner=owner)
        elif p.get("charge"):
            charge = s.get("charge", p["charge"], owner)
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
        s.state.put(refund_id, refund, owner=owner)
        return 200, refund

    async def get_refund(p: Params, owner: str, request: Request) -> tuple[int, dict[str, Any]]:
        return 200, s.get("refund", request.path_params["id"], owner)

    e = s.endpoint
    return [
        Route("/v1/refunds", e(create_refund), methods=["POST"]),
        Route("/v1/refunds/{id}", e(get_refund), methods=["GET"]),
    ]
