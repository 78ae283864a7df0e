"""Stripe sandbox test hooks: `POST /_sandbox/payment_intents/{id}/succeed|fail|
require_action`, `GET /_sandbox/3ds/{id}` (the customer completing authentication), and
`POST /_sandbox/webhooks` `{type, object_id, secret|secrets, url?, timestamp?}`, which
returns (and, given a URL, delivers) an event signed as Stripe signs it.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from moneyrail.connectors.stripe.webhooks import stripe_signature_header
from moneyrail.sandbox.state import (
    HOOK_PREFIX,
    SandboxError,
    mount_url,
    new_id,
    signed_webhook_response,
)
from moneyrail.sandbox.stripe.routes import API_VERSION, StripeSandbox
from moneyrail.sandbox.stripe.wire import error, missing, public


def stripe_hook_routes(s: StripeSandbox) -> list[Route]:
    def hook_intent(request: Request) -> tuple[dict[str, Any], str]:
        pi_id = request.path_params["id"]
        owner = s.state.owner_of(pi_id)
        pi = s.state.get(pi_id)
        if pi is None or owner is None or pi.get("object") != "payment_intent":
            raise missing("payment_intent", pi_id)
        return pi, owner

    async def hook_outcome(request: Request) -> Response:
        try:
            pi, owner = hook_intent(request)
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
                s.succeed(pi, owner)
            elif outcome == "fail":
                s.decline(pi, owner)
            elif outcome == "require_action":
                s.require_action(pi, mount_url(request))
            else:
                raise error(404, f"unknown outcome {outcome}")
            return JSONResponse(public(pi))
        except SandboxError as exc:
            return exc.response()

    async def hook_3ds(request: Request) -> Response:
        try:
            pi, owner = hook_intent(request)
        except SandboxError as exc:
            return exc.response()
        if pi["status"] == "requires_action":
            if request.query_params.get("outcome") == "fail":
                s.decline(pi, owner)
            else:
                s.succeed(pi, owner)
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

    async def hook_webhook(request: Request) -> Response:
        spec = await request.json()
        obj_id = str(spec.get("object_id") or "")
        obj = s.state.get(obj_id)
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

    return [
        Route(f"{HOOK_PREFIX}/payment_intents/{{id}}/{{outcome}}", hook_outcome, methods=["POST"]),
        Route(f"{HOOK_PREFIX}/3ds/{{id}}", hook_3ds, methods=["GET"]),
        Route(f"{HOOK_PREFIX}/webhooks", hook_webhook, methods=["POST"]),
    ]
