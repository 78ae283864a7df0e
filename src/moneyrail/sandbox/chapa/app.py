"""Chapa sandbox (API v1): hosted checkout, verification, cancellation, refunds and
webhooks, in Chapa's wire format: the `{"message", "status": "success"|"failed", "data"}`
envelope, amounts as major-unit decimal strings, statuses `pending` → `success`/`failed`,
`cancelled`, `refunded`.

Accounts are secret keys (`CHASECK_TEST-…` or `CHASECK-…`); a missing key answers 401
"Authorization required", any other "Invalid API Key or User doesn't exist". The refund
answer's body is not documented by Chapa; this sandbox answers with the fields Chapa's own
CLI lists for refunds (`chapa_reference`, `payment_reference`, `amount`, `status`,
`reason`, `created_at`). Test hooks (under `/_sandbox`, never on the real API):
- `GET|POST /_sandbox/checkout/{token}`: the hosted checkout; POST
  `{"outcome": "success"|"failed"}` (JSON or a form) completes it.
- `POST /_sandbox/webhooks` `{"tx_ref", "event"?, "secret_hash"?, "url"?}` with the
  account's key: the signed webhook (`Chapa-Signature`, `x-chapa-signature`), POSTed to `url`
  when given. The secret hash is the one given, else the account's setting.
- `POST /_sandbox/settings` `{"webhook_url"?, "secret_hash"?}`: the dashboard's webhook
  settings; events are then delivered as they happen.
- `POST /_sandbox/faults`, `POST /_sandbox/reset`: see `sandbox.state`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from moneyrail.connectors.chapa import body_signature, static_signature
from moneyrail.core.money import exponent
from moneyrail.sandbox.guard import refused_webhook_setting
from moneyrail.sandbox.hosted_checkout import (
    checkout_page,
    fee_quantum,
    invalid_link,
    major_amount,
    read_outcome,
    redirect_back,
    settings_of,
    update_settings,
)
from moneyrail.sandbox.http import bearer_api, deliver_later, read_body, sandbox_app
from moneyrail.sandbox.state import (
    HOOK_PREFIX,
    SandboxState,
    mount_url,
    new_id,
    signed_webhook_response,
)

_KEY = re.compile(r"^CHASECK(_TEST)?-[A-Za-z0-9]+$")
CURRENCIES = frozenset({"ETB", "USD"})
_FEE_RATE = Decimal("0.035")
_INVALID_KEY = "Invalid API Key or User doesn't exist"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def fail(status: int, message: Any) -> Response:
    return JSONResponse({"message": message, "status": "failed", "data": None}, status_code=status)


def ok(message: str, data: Any) -> Response:
    return JSONResponse({"message": message, "status": "success", "data": data})


def _major(value: Decimal, currency: str) -> str:
    return f"{value:.{exponent(currency)}f}"


class ChapaSandbox:
    def __init__(self) -> None:
        self.state = SandboxState()

    # Everything lives in the bounded store (cleared by the reset hook); a tx_ref is only
    # unique within an account, so a transaction's id carries the account.

    def transaction(self, account: str, tx_ref: str) -> dict[str, Any] | None:
        return self.state.get(f"txn:{account}:{tx_ref}", owner=account)

    def settings_of(self, account: str) -> dict[str, str]:
        return settings_of(self.state, account)

    @staticmethod
    def transaction_json(txn: dict[str, Any]) -> dict[str, Any]:
        currency = txn["currency"]
        return {
            "first_name": txn["first_name"],
            "last_name": txn["last_name"],
            "email": txn["email"],
            "currency": currency,
            "amount": _major(txn["amount"], currency),
            "charge": _major(txn["charge"], currency),
            "mode": txn["mode"],
            "method": "test" if txn["mode"] == "test" else "telebirr",
            "type": "API",
            "status": txn["status"],
            "reference": txn["reference"],
            "tx_ref": txn["tx_ref"],
            "customization": txn["customization"],
            "meta": txn["meta"],
            "created_at": txn["created_at"],
            "updated_at": txn["updated_at"],
        }

    @staticmethod
    def event_json(event: str, txn: dict[str, Any]) -> dict[str, Any]:
        """The flat transaction webhook payload Chapa documents."""
        currency = txn["currency"]
        return {
            "event": event,
            "first_name": txn["first_name"],
            "last_name": txn["last_name"],
            "email": txn["email"],
            "mobile": txn["phone_number"],
            "currency": currency,
            "amount": _major(txn["amount"], currency),
            "charge": _major(txn["charge"], currency),
            "status": txn["status"],
            "mode": txn["mode"],
            "reference": txn["reference"],
            "created_at": txn["created_at"],
            "updated_at": txn["updated_at"],
            "type": "API",
            "tx_ref": txn["tx_ref"],
            "payment_method": "test" if txn["mode"] == "test" else "telebirr",
            "customization": txn["customization"],
            "meta": txn["meta"],
        }

    # --- API --------------------------------------------------------------------------------

    async def initialize(self, request: Request, account: str, key: str) -> Response:
        body = await read_body(request)
        if body is None:
            return fail(400, "Incorrect header settings; content-type must be application/json")
        missing = [name for name in ("amount", "currency", "tx_ref") if not body.get(name)]
        if missing:
            return fail(400, {name: ["validation.required"] for name in missing})
        currency = str(body["currency"]).upper()
        if currency not in CURRENCIES:
            return fail(400, "Invalid currency, currency is not supported")
        amount = major_amount(body["amount"], currency)
        if amount is None:
            return fail(400, {"amount": ["The amount must be a number greater than 0."]})
        tx_ref = str(body["tx_ref"])
        if self.transaction(account, tx_ref) is not None:
            return fail(400, "Transaction reference has been used before")
        now = _now()
        customization = body.get("customization")
        txn = {
            "tx_ref": tx_ref,
            "token": new_id("", 12),
            "reference": new_id("AP", 10),
            "amount": amount,
            "charge": Decimal(0),
            "refunded": Decimal(0),
            "currency": currency,
            "email": body.get("email"),
            "first_name": body.get("first_name"),
            "last_name": body.get("last_name"),
            "phone_number": body.get("phone_number"),
            "return_url": body.get("return_url"),
            "customization": customization
            if isinstance(customization, dict)
            else {"title": None, "description": None, "logo": None},
            "meta": body.get("meta") if isinstance(body.get("meta"), dict) else None,
            "mode": "live" if key.startswith("CHASECK-") else "test",
            "status": "pending",
            "created_at": now,
            "updated_at": now,
        }
        self.state.put(f"txn:{account}:{tx_ref}", txn, owner=account)
        self.state.put(
            f"token:{txn['token']}", {"account": account, "tx_ref": tx_ref}, owner=account
        )
        checkout = f"{mount_url(request)}{HOOK_PREFIX}/checkout/{txn['token']}"
        return ok("Hosted Link", {"checkout_url": checkout})

    async def verify(self, request: Request, account: str, key: str) -> Response:
        txn = self.transaction(account, request.path_params["tx_ref"])
        if txn is None:
            return fail(404, "Invalid transaction or Transaction not found")
        return ok("Payment details", self.transaction_json(txn))

    async def cancel(self, request: Request, account: str, key: str) -> Response:
        txn = self.transaction(account, request.path_params["tx_ref"])
        if txn is None:
            return fail(404, "Invalid transaction or Transaction not found")
        if txn["status"] != "pending":
            return fail(400, "Payment link already expired")
        txn.update(status="cancelled", updated_at=_now())
        return ok(
            "Checkout link expired successfully",
            {
                "tx_ref": txn["tx_ref"],
                "amount": _major(txn["amount"], txn["currency"]),
                "currency": txn["currency"],
                "created_at": txn["created_at"],
                "updated_at": txn["updated_at"],
            },
        )

    async def refund(self, request: Request, account: str, key: str) -> Response:
        txn = self.transaction(account, request.path_params["tx_ref"])
        if txn is None:
            return fail(404, "Invalid transaction or Transaction not found")
        body = await read_body(request)
        if body is None:
            return fail(400, "Incorrect header settings; content-type must be application/json")
        if not body.get("reason"):
            return fail(400, {"reason": ["validation.required"]})
        if txn["status"] != "success":
            return fail(400, "Only successful transactions can be refunded")
        remaining = txn["amount"] - txn["refunded"]
        raw_amount = body.get("amount")
        amount = (
            remaining if raw_amount in (None, "") else major_amount(raw_amount, txn["currency"])
        )
        if amount is None:
            return fail(400, {"amount": ["The amount must be a number greater than 0."]})
        if amount > remaining:
            return fail(400, "The refund amount exceeds the amount left to refund")
        txn["refunded"] += amount
        now = _now()
        if txn["refunded"] == txn["amount"]:
            txn.update(status="refunded")
        txn.update(updated_at=now)
        refund = {
            "chapa_reference": new_id("RF", 10),
            "merchant_reference": body.get("reference"),
            "payment_reference": txn["tx_ref"],
            "amount": _major(amount, txn["currency"]),
            "currency": txn["currency"],
            "status": "success",
            "reason": str(body["reason"]),
            "meta": body.get("meta") if isinstance(body.get("meta"), dict) else None,
            "created_at": now,
        }
        self._notify(account, "charge.refunded", txn)
        return ok("Refund processed successfully", refund)

    # --- hosted checkout and hooks ------------------------------------------------------------

    async def checkout(self, request: Request) -> Response:
        found = self.state.get(f"token:{request.path_params['token']}")
        txn = self.transaction(found["account"], found["tx_ref"]) if found else None
        if txn is None or found is None:
            return invalid_link("checkout link")
        if request.method == "GET":
            return HTMLResponse(_checkout_page(txn))
        outcome, from_form = await read_outcome(request)
        if outcome is None:
            return fail(400, "outcome must be success or failed")
        if txn["status"] != "pending":
            return fail(400, "Payment link already expired")
        txn.update(status=outcome, updated_at=_now())
        if outcome == "success":
            txn["charge"] = (txn["amount"] * _FEE_RATE).quantize(fee_quantum(txn["currency"]))
        self._notify(found["account"], f"charge.{outcome}", txn)
        return_url = txn.get("return_url")
        if from_form and isinstance(return_url, str) and return_url:
            return redirect_back(return_url, {"trx_ref": txn["tx_ref"], "status": outcome})
        return ok("Payment completed", {"tx_ref": txn["tx_ref"], "status": outcome})

    def signed(self, event: str, txn: dict[str, Any], secret: str) -> tuple[dict[str, str], bytes]:
        body = json.dumps(self.event_json(event, txn), separators=(",", ":")).encode()
        headers = {
            "content-type": "application/json",
            "chapa-signature": static_signature(secret),
            "x-chapa-signature": body_signature(secret, body),
        }
        return headers, body

    def _notify(self, account: str, event: str, txn: dict[str, Any]) -> None:
        settings = self.settings_of(account)
        url, secret = settings.get("webhook_url"), settings.get("secret_hash")
        if url and secret:
            headers, body = self.signed(event, txn, secret)
            deliver_later(self.state, url, headers=headers, body=body)

    async def webhook(self, request: Request, account: str, key: str) -> Response:
        body = await read_body(request) or {}
        secret = body.get("secret_hash") or self.settings_of(account).get("secret_hash")
        if not isinstance(secret, str) or not secret:
            return fail(400, "Set a secret hash first (secret_hash)")
        txn = self.transaction(account, str(body.get("tx_ref") or ""))
        if txn is None:
            return fail(404, "Invalid transaction or Transaction not found")
        default = {"success": "charge.success", "refunded": "charge.refunded"}
        event = str(body.get("event") or default.get(txn["status"], f"charge.{txn['status']}"))
        headers, raw = self.signed(event, txn, secret)
        url = body.get("url")
        return await signed_webhook_response(
            headers=headers, body=raw, url=url if isinstance(url, str) else None
        )

    async def settings(self, request: Request, account: str, key: str) -> Response:
        body = await read_body(request) or {}
        if (refused := refused_webhook_setting(body)) is not None:
            return refused
        settings = update_settings(self.settings_of(account), body, ("webhook_url", "secret_hash"))
        return ok("Settings saved", {"webhook_url": settings.get("webhook_url")})


def _checkout_page(txn: dict[str, Any]) -> str:
    return checkout_page(
        provider="Chapa",
        currency=txn["currency"],
        amount=_major(txn["amount"], txn["currency"]),
        email=txn["email"],
        reference=txn["tx_ref"],
    )


def _reject(key: str | None) -> Response:
    return fail(401, "Authorization required" if key is None else _INVALID_KEY)


def create_app() -> Starlette:
    sandbox = ChapaSandbox()
    api = bearer_api(_KEY, _reject)
    routes = [
        Route("/v1/transaction/initialize", api(sandbox.initialize), methods=["POST"]),
        Route("/v1/transaction/verify/{tx_ref}", api(sandbox.verify), methods=["GET"]),
        Route("/v1/transaction/cancel/{tx_ref}", api(sandbox.cancel), methods=["PUT"]),
        Route("/v1/refund/{tx_ref}", api(sandbox.refund), methods=["POST"]),
        Route(f"{HOOK_PREFIX}/checkout/{{token}}", sandbox.checkout, methods=["GET", "POST"]),
        Route(f"{HOOK_PREFIX}/webhooks", api(sandbox.webhook), methods=["POST"]),
        Route(f"{HOOK_PREFIX}/settings", api(sandbox.settings), methods=["POST"]),
    ]
    return sandbox_app(sandbox, routes, unavailable=lambda: fail(503, "Service Unavailable"))
