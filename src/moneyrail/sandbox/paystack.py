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
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from moneyrail.connectors.paystack import CURRENCIES, signature
from moneyrail.sandbox.hosted_checkout import (
    checkout_page,
    invalid_link,
    read_outcome,
    redirect_back,
)
from moneyrail.sandbox.http import bearer_api, deliver_later, read_body, sandbox_app
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

    # --- JSON shapes ------------------------------------------------------------------------

    @staticmethod
    def transaction_json(txn: dict[str, Any]) -> dict[str, Any]:
        paid = txn["status"] in ("success", "reversed")
        return {
            "id": txn["id"],
            "domain": txn["domain"],
            "status": txn["status"],
            "reference": txn["reference"],
            "receipt_number": None,
            "amount": txn["amount"],
            "message": None,
            "gateway_response": txn["gateway_response"],
            "paid_at": txn["paid_at"],
            "created_at": txn["created_at"],
            "channel": "card",
            "currency": txn["currency"],
            "ip_address": "127.0.0.1",
            "metadata": txn["metadata"] or "",
            "log": None,
            "fees": txn["fees"],
            "fees_split": None,
            "authorization": {
                "authorization_code": f"AUTH_{txn['access_code'][:10]}",
                "bin": "408408",
                "last4": "4081",
                "exp_month": "12",
                "exp_year": "2030",
                "channel": "card",
                "card_type": "visa ",
                "bank": "TEST BANK",
                "country_code": "NG",
                "brand": "visa",
                "reusable": True,
                "signature": f"SIG_{txn['access_code'][:12]}",
                "account_name": None,
            }
            if paid
            else {},
            "customer": txn["customer"],
            "plan": None,
            "split": {},
            "order_id": None,
            "paidAt": txn["paid_at"],
            "createdAt": txn["created_at"],
            "requested_amount": txn["amount"],
            "pos_transaction_data": None,
            "source": None,
            "fees_breakdown": None,
            "connect": None,
            "transaction_date": txn["created_at"],
            "plan_object": {},
            "subaccount": {},
        }

    @staticmethod
    def refund_json(refund: dict[str, Any], txn: dict[str, Any]) -> dict[str, Any]:
        customer = txn["customer"]
        return {
            "integration": 412829,
            "transaction": txn["id"],
            "dispute": None,
            "settlement": None,
            "id": refund["id"],
            "domain": txn["domain"],
            "currency": refund["currency"],
            "amount": refund["amount"],
            "status": refund["status"],
            "refunded_at": refund["refunded_at"],
            "refunded_by": customer["email"],
            "customer_note": refund["customer_note"],
            "merchant_note": refund["merchant_note"],
            "deducted_amount": refund["amount"],
            "fully_deducted": 1,
            "createdAt": refund["created_at"],
            "bank_reference": None,
            "transaction_reference": txn["reference"],
            "reason": refund["merchant_note"],
            "customer": {
                **{k: customer[k] or "" for k in ("first_name", "last_name", "phone")},
                "id": customer["id"],
                "email": customer["email"],
                "customer_code": customer["customer_code"],
                "metadata": "",
                "risk_action": customer["risk_action"],
                "international_format_phone": "",
            },
            "refund_type": "full" if refund["amount"] == txn["amount"] else "partial",
            "transaction_amount": txn["amount"],
            "initiated_by": "api",
            "refund_channel": "card",
            "session_id": None,
            "collect_account_number": False,
        }

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

    # --- plans and subscriptions ---------------------------------------------------------------

    async def create_plan(self, request: Request, account: str, key: str) -> Response:
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
        self.transaction_ids += 1
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
            "id": self.transaction_ids,
            "createdAt": now,
            "updatedAt": now,
        }
        self.state.put(f"plan:{plan['plan_code']}", plan, owner=account)
        return ok("Plan created", plan)

    async def create_subscription(self, request: Request, account: str, key: str) -> Response:
        body = await read_body(request)
        if body is None:
            return fail(400, "Invalid JSON", code="invalid_params")
        plan = self.state.get(f"plan:{body.get('plan')}", owner=account)
        if plan is None:
            return fail(404, "Plan not found")
        email = str(body.get("customer") or "")
        saved = self.state.get(f"auth:{account}:{email}", owner=account)
        code = body.get("authorization")
        if saved is None or (code and code != saved["authorization_code"]):
            return fail(400, "This customer has no reusable authorization", code="invalid_params")
        self.transaction_ids += 1
        now = datetime.now(UTC)
        sub = {
            "id": self.transaction_ids,
            "plan": plan,
            "authorization": saved,
            "status": "active",
            "subscription_code": "SUB_" + "".join(secrets.choice(_LOWER_ALNUM) for _ in range(15)),
            "email_token": "".join(secrets.choice(_LOWER_ALNUM) for _ in range(20)),
            "created_at": _now(),
            "next_payment_date": (now + _INTERVALS[plan["interval"]]).strftime(_TIME_FORMAT),
            "cron_expression": f"{now.minute} {now.hour} {now.day} * *",
        }
        self.state.put(f"sub:{sub['subscription_code']}", sub, owner=account)
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

    async def fetch_subscription(self, request: Request, account: str, key: str) -> Response:
        sub = self.state.get(f"sub:{request.path_params['code']}", owner=account)
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

    async def toggle_subscription(self, request: Request, account: str, key: str) -> Response:
        body = await read_body(request) or {}
        enable = request.url.path.endswith("/enable")
        sub = self.state.get(f"sub:{body.get('code')}", owner=account)
        if sub is None or body.get("token") != sub["email_token"]:
            return fail(400, "Subscription with code not found or already inactive")
        if enable == (sub["status"] == "active"):
            state = "active" if enable else "inactive"
            return fail(400, f"Subscription with code already {state}")
        sub["status"] = "active" if enable else "non-renewing"
        sub["cancelled_at"] = None if enable else _now()
        event = "subscription.enable" if enable else "subscription.disable"
        self._notify(
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


def create_app() -> Starlette:
    sandbox = PaystackSandbox()
    api = bearer_api(_KEY, lambda _key: fail(401, "Invalid key"))
    routes = [
        Route("/transaction/initialize", api(sandbox.initialize), methods=["POST"]),
        Route("/transaction/verify/{reference}", api(sandbox.verify), methods=["GET"]),
        Route("/transaction/{id}", api(sandbox.fetch), methods=["GET"]),
        Route("/refund", api(sandbox.create_refund), methods=["POST"]),
        Route("/refund/{id}", api(sandbox.fetch_refund), methods=["GET"]),
        Route("/plan", api(sandbox.create_plan), methods=["POST"]),
        Route("/subscription", api(sandbox.create_subscription), methods=["POST"]),
        Route("/subscription/disable", api(sandbox.toggle_subscription), methods=["POST"]),
        Route("/subscription/enable", api(sandbox.toggle_subscription), methods=["POST"]),
        Route("/subscription/{code}", api(sandbox.fetch_subscription), methods=["GET"]),
        Route(
            f"{HOOK_PREFIX}/checkout/{{access_code}}",
            sandbox.checkout,
            methods=["GET", "POST"],
        ),
        Route(f"{HOOK_PREFIX}/webhooks", api(sandbox.webhook), methods=["POST"]),
        Route(f"{HOOK_PREFIX}/settings", api(sandbox.settings), methods=["POST"]),
    ]
    app = sandbox_app(
        sandbox,
        routes,
        unavailable=lambda: fail(503, "Service temporarily unavailable, please try again"),
    )
    app.add_middleware(TrailingSlashMiddleware)
    return app


class TrailingSlashMiddleware:
    """Paystack serves `/plan/` as `/plan` (SDKs send both): drop one trailing slash."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path[:-1], "raw_path": path[:-1].encode()}
        await self.app(scope, receive, send)
