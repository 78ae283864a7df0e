"""Paystack sandbox: the transaction, refund and plan/subscription endpoints moneyrail uses,
in Paystack's wire format (see `/work/shared/reference/openapi/paystack.yaml`: paths, the
`{"status": true|false, "message", "data"}` envelope, integer amounts in subunits, statuses
`abandoned` → `success`/`failed` → `reversed`).

Accounts are secret keys (`sk_test_…` or `sk_live_…`); anything else answers 401
`{"status": false, "message": "Invalid key"}`. Test hooks (under `/_sandbox`, never on the
real API):
- `GET|POST /_sandbox/checkout/{access_code}`: the hosted checkout a payer sees; POST
  `{"outcome": "success"|"failed"}` (JSON or a form) completes it.
- `POST /_sandbox/webhooks` `{"reference"|"refund_id", "event"?, "url"?}` with the account's
  key: the signed webhook request (headers and the exact body), POSTed to `url` when given.
- `POST /_sandbox/settings` `{"webhook_url"}`: deliver events to that URL as they happen.
- Plans and subscriptions: a subscription charges the card the customer saved by paying a
  transaction (`POST /subscription` refuses customers without one); disable/enable need the
  subscription's `email_token`, as on Paystack.
- `POST /_sandbox/faults`, `POST /_sandbox/reset`: see `sandbox.state`.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from moneyrail.connectors.paystack import CURRENCIES, signature
from moneyrail.sandbox.guard import refused_webhook_setting
from moneyrail.sandbox.hosted_checkout import (
    checkout_page,
    invalid_link,
    read_outcome,
    redirect_back,
)
from moneyrail.sandbox.http import deliver_later, read_body
from moneyrail.sandbox.paystack.shapes import refund_json, transaction_json
from moneyrail.sandbox.state import (
    HOOK_PREFIX,
    SandboxState,
    mount_url,
    signed_webhook_response,
)

_KEY = re.compile(r"^sk_(test|live)_[A-Za-z0-9]+$")
_REFERENCE = re.compile(r"^[A-Za-z0-9.=-]{1,100}$")
_LOWER_ALNUM = string.ascii_lowercase + string.digits
_FIRST_TRANSACTION_ID = 4_099_260_000
_FIRST_REFUND_ID = 15_581_000
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.000Z"


def _now() -> str:
    return datetime.now(UTC).strftime(_TIME_FORMAT)


def fail(
    status: int, message: str, *, code: str | None = None, step: str | None = None
) -> Response:
    body: dict[str, Any] = {"status": False, "message": message}
    if code:
        body.update(
            meta={"nextStep": step or "Ensure that the value(s) you're passing are valid."},
            type="validation_error",
            code=code,
        )
    return JSONResponse(body, status_code=status)


def ok(message: str, data: Any) -> Response:
    return JSONResponse({"status": True, "message": message, "data": data})


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


class PaystackSandbox:
    def __init__(self) -> None:
        self.state = SandboxState()
        self.transaction_ids = _FIRST_TRANSACTION_ID
        self.refund_ids = _FIRST_REFUND_ID

    # --- store ------------------------------------------------------------------------------

    # Everything lives in the bounded store (cleared by the reset hook); references and
    # e-mails are only unique within an account, so their ids carry the account.

    def transaction(self, account: str, reference: str) -> dict[str, Any] | None:
        return self.state.get(f"txn:{account}:{reference}", owner=account)

    def by_id_or_reference(self, account: str, value: str) -> dict[str, Any] | None:
        index = self.state.get(f"txnid:{value}", owner=account) if value.isdigit() else None
        return self.transaction(account, index["reference"] if index else value)

    def webhook_url(self, account: str) -> str | None:
        settings = self.state.get(f"settings:{account}", owner=account) or {}
        return settings.get("webhook_url")

    # --- JSON shapes (see paystack_shapes.py) ---------------------------------------------

    transaction_json = staticmethod(transaction_json)
    refund_json = staticmethod(refund_json)

    # --- API --------------------------------------------------------------------------------

    async def initialize(self, request: Request, account: str, key: str) -> Response:
        body = await read_body(request)
        if body is None:
            return fail(400, "Invalid JSON", code="invalid_params")
        email = body.get("email")
        amount = _int(body.get("amount"))
        if not isinstance(email, str) or "@" not in email:
            return fail(400, "Invalid Email Address Passed", code="invalid_params")
        if amount is None or amount <= 0:
            return fail(400, "Invalid Amount Sent", code="invalid_params")
        currency = str(body.get("currency") or "NGN").upper()
        if currency not in CURRENCIES:
            return fail(400, "Currency not supported by merchant", code="unsupported_currency")
        reference = body.get("reference") or "T" + "".join(
            secrets.choice(string.digits) for _ in range(15)
        )
        if not isinstance(reference, str) or not _REFERENCE.match(reference):
            return fail(
                400,
                "Invalid transaction reference. Only -, ., = and alphanumeric characters allowed.",
                code="invalid_params",
            )
        if self.transaction(account, reference) is not None:
            return fail(
                400,
                "Duplicate Transaction Reference",
                code="duplicate_reference",
                step="Try and create the Transaction or Charge with a new reference",
            )
        metadata = body.get("metadata")
        if isinstance(metadata, str) and metadata:
            try:
                metadata = json.loads(metadata)
            except ValueError:
                return fail(400, "Invalid metadata", code="invalid_params")
        self.transaction_ids += 1
        access_code = "".join(secrets.choice(_LOWER_ALNUM) for _ in range(15))
        txn = {
            "id": self.transaction_ids,
            "domain": "live" if key.startswith("sk_live_") else "test",
            "reference": reference,
            "access_code": access_code,
            "amount": amount,
            "currency": currency,
            "status": "abandoned",
            "gateway_response": "The transaction was not completed",
            "paid_at": None,
            "created_at": _now(),
            "fees": None,
            "refunded": 0,
            "metadata": metadata if isinstance(metadata, dict) else None,
            "callback_url": body.get("callback_url"),
            "customer": {
                "id": 24494735 + self.transaction_ids % 100_000,
                "first_name": None,
                "last_name": None,
                "email": email,
                "customer_code": "CUS_" + "".join(secrets.choice(_LOWER_ALNUM) for _ in range(15)),
                "phone": None,
                "metadata": None,
                "risk_action": "default",
                "international_format_phone": None,
            },
        }
        self.state.put(f"txn:{account}:{reference}", txn, owner=account)
        self.state.put(f"txnid:{txn['id']}", {"reference": reference}, owner=account)
        payer = {"account": account, "key": key, "reference": reference}
        self.state.put(f"access:{access_code}", payer, owner=account)
        checkout = f"{mount_url(request)}{HOOK_PREFIX}/checkout/{access_code}"
        return ok(
            "Authorization URL created",
            {"authorization_url": checkout, "access_code": access_code, "reference": reference},
        )

    async def verify(self, request: Request, account: str, key: str) -> Response:
        txn = self.transaction(account, request.path_params["reference"])
        if txn is None:
            return fail(404, "Transaction reference not found")
        return ok("Verification successful", self.transaction_json(txn))

    async def fetch(self, request: Request, account: str, key: str) -> Response:
        txn = self.by_id_or_reference(account, request.path_params["id"])
        if txn is None or not request.path_params["id"].isdigit():
            return fail(404, "Transaction not found")
        return ok("Transaction retrieved", self.transaction_json(txn))

    async def create_refund(self, request: Request, account: str, key: str) -> Response:
        body = await read_body(request)
        if body is None:
            return fail(400, "Invalid JSON", code="invalid_params")
        txn = self.by_id_or_reference(account, str(body.get("transaction") or ""))
        if txn is None:
            return fail(404, "Transaction not found")
        if txn["status"] != "success":
            return fail(400, "Transaction has not been completed", code="invalid_params")
        remaining = txn["amount"] - txn["refunded"]
        amount = remaining if body.get("amount") is None else _int(body.get("amount"))
        if amount is None or amount <= 0:
            return fail(400, "Invalid Amount Sent", code="invalid_params")
        if amount > remaining:
            return fail(
                400,
                "Refund amount cannot be more than the unrefunded balance of the transaction",
                code="invalid_params",
            )
        currency = str(body.get("currency") or txn["currency"]).upper()
        if currency != txn["currency"]:
            return fail(400, "Currency does not match the transaction", code="invalid_params")
        self.refund_ids += 1
        note = f"Refund for transaction {txn['reference']}"
        refund = {
            "id": self.refund_ids,
            "reference": txn["reference"],
            "amount": amount,
            "currency": currency,
            "status": "pending",
            "refunded_at": None,
            "created_at": _now(),
            "customer_note": str(body.get("customer_note") or note),
            "merchant_note": str(body.get("merchant_note") or note),
        }
        self.state.put(f"refund:{refund['id']}", refund, owner=account)
        txn["refunded"] += amount
        created = {
            **self.refund_json(refund, txn),
            "transaction": {
                "id": txn["id"],
                "domain": txn["domain"],
                "reference": txn["reference"],
                "amount": txn["amount"],
                "paid_at": txn["paid_at"],
                "channel": "card",
                "currency": txn["currency"],
                "authorization": {"exp_month": None, "exp_year": None, "account_name": None},
                "customer": {"international_format_phone": None},
                "plan": {},
                "subaccount": {"currency": None},
                "split": {},
                "order_id": None,
                "paidAt": txn["paid_at"],
                "pos_transaction_data": None,
                "source": None,
                "fees_breakdown": None,
            },
            "fully_deducted": True,
            "expected_at": _now(),
            "channel": None,
            "updatedAt": refund["created_at"],
        }
        for drop in ("transaction_reference", "customer", "dispute", "settlement"):
            created.pop(drop)
        # The processor settles refunds later; here they settle as soon as they are created.
        refund.update(status="processed", refunded_at=_now())
        if txn["refunded"] == txn["amount"]:
            txn["status"] = "reversed"
        self._notify(account, key, "refund.processed", self.refund_json(refund, txn))
        return ok("Refund has been queued for processing", created)

    async def fetch_refund(self, request: Request, account: str, key: str) -> Response:
        refund = self.state.get(f"refund:{request.path_params['id']}", owner=account)
        if refund is None:
            return fail(404, "Refund not found")
        txn = self.transaction(account, refund["reference"])
        if txn is None:
            return fail(404, "Refund not found")
        return ok("Refund retrieved", self.refund_json(refund, txn))

    # --- hosted checkout and hooks ------------------------------------------------------------

    async def checkout(self, request: Request) -> Response:
        found = self.state.get(f"access:{request.path_params['access_code']}")
        txn = self.transaction(found["account"], found["reference"]) if found else None
        if txn is None or found is None:
            return invalid_link("checkout link")
        account, key, reference = found["account"], found["key"], found["reference"]
        if request.method == "GET":
            return HTMLResponse(_checkout_page(txn))
        outcome, from_form = await read_outcome(request)
        if outcome is None:
            return fail(400, "outcome must be success or failed")
        if txn["status"] != "abandoned":
            return fail(400, "Transaction has already been completed")
        txn["status"] = outcome
        txn["gateway_response"] = "Successful" if outcome == "success" else "Declined"
        if outcome == "success":
            txn["paid_at"] = _now()
            txn["fees"] = min(txn["amount"] * 15 // 1000 + 10_000, 200_000)
            saved = self.transaction_json(txn)["authorization"] | {"customer": txn["customer"]}
            for customer_key in (txn["customer"]["email"], txn["customer"]["customer_code"]):
                self.state.put(f"auth:{account}:{customer_key}", saved, owner=account)
        self._notify(account, key, f"charge.{outcome}", self.transaction_json(txn))
        callback = txn.get("callback_url")
        if from_form and callback:
            return redirect_back(callback, {"trxref": reference, "reference": reference})
        return ok("Checkout completed", {"reference": reference, "status": txn["status"]})

    def _notify(self, account: str, key: str, event: str, data: dict[str, Any]) -> None:
        url = self.webhook_url(account)
        if url:
            body = json.dumps({"event": event, "data": data}, separators=(",", ":")).encode()
            headers = {
                "content-type": "application/json",
                "x-paystack-signature": signature(key, body),
            }
            deliver_later(self.state, url, headers=headers, body=body)

    async def webhook(self, request: Request, account: str, key: str) -> Response:
        body = await read_body(request) or {}
        if body.get("refund_id") is not None:
            refund = self.state.get(f"refund:{body['refund_id']}", owner=account)
            txn = self.transaction(account, refund["reference"]) if refund else None
            if refund is None or txn is None:
                return fail(404, "Refund not found")
            event = str(body.get("event") or f"refund.{refund['status']}")
            data = self.refund_json(refund, txn)
        else:
            txn = self.transaction(account, str(body.get("reference") or ""))
            if txn is None:
                return fail(404, "Transaction reference not found")
            default = {"success": "charge.success", "failed": "charge.failed"}
            event = str(body.get("event") or default.get(txn["status"], "charge.pending"))
            data = self.transaction_json(txn)
        raw = json.dumps({"event": event, "data": data}, separators=(",", ":")).encode()
        headers = {"content-type": "application/json", "x-paystack-signature": signature(key, raw)}
        url = body.get("url")
        return await signed_webhook_response(
            headers=headers, body=raw, url=url if isinstance(url, str) else None
        )

    async def settings(self, request: Request, account: str, key: str) -> Response:
        body = await read_body(request) or {}
        if (refused := refused_webhook_setting(body)) is not None:
            return refused
        url = body.get("webhook_url")
        settings = {"webhook_url": url if isinstance(url, str) and url else None}
        self.state.put(f"settings:{account}", settings, owner=account)
        return ok("Settings saved", settings)


def _checkout_page(txn: dict[str, Any]) -> str:
    return checkout_page(
        provider="Paystack",
        currency=txn["currency"],
        amount=f"{txn['amount'] // 100}.{txn['amount'] % 100:02d}",
        email=txn["customer"]["email"],
        reference=txn["reference"],
    )


class TrailingSlashMiddleware:
    """Paystack serves `/plan/` as `/plan` (SDKs send both): drop one trailing slash."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path[:-1], "raw_path": path[:-1].encode()}
        await self.app(scope, receive, send)
