"""Flutterwave sandbox (API v3): payment links, transaction verification by id and by
`tx_ref`, refunds, and webhooks, in Flutterwave's wire format: the
`{"status": "success"|"error", "message", "data"}` envelope, amounts in major units as JSON
numbers, numeric transaction ids, statuses `successful`/`failed`. Refunds are read one by
one (`GET /v3/refunds/{id}`) or listed (`GET /v3/refunds`, filtered by `id` — the
transaction's numeric id —, `from`/`to` (`YYYY-MM-DD`, inclusive), `status`, `currency`,
`flw_ref`; newest first, `page` by `_REFUNDS_PAGE_SIZE`, `meta.page_info`).

Accounts are secret keys (`FLWSECK_TEST-…` or `FLWSECK-…`); anything else answers 401
`{"status": "error", "message": "Invalid authorization key", "data": null}`. As on
Flutterwave, a transaction exists only once the customer pays on the hosted page; before
that, verification answers 400 "No transaction was found for this id". Test hooks (under
`/_sandbox`, never on the real API):
- `GET|POST /_sandbox/checkout/{token}`: the hosted payment page; POST
  `{"outcome": "success"|"failed"}` (JSON or a form) pays or declines.
- `POST /_sandbox/webhooks` `{"tx_ref"|"refund_id", "event"?, "secret_hash"?, "url"?}` with
  the account's key: the signed webhook (`verif-hash` and `flutterwave-signature`), POSTed to
  `url` when given. The secret hash is the one given, else the account's setting.
- `POST /_sandbox/settings` `{"webhook_url"?, "secret_hash"?}`: the dashboard's webhook
  settings; events are then delivered as they happen.
- `POST /_sandbox/faults`, `POST /_sandbox/reset`: see `sandbox.state`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from moneyrail.connectors.flutterwave import dumps, loads, signature
from moneyrail.core.money import is_currency
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

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KEY = re.compile(r"^FLWSECK(_TEST)?-[A-Za-z0-9]+(-X)?$")
CURRENCIES = frozenset(
    "NGN USD EUR GBP GHS KES UGX TZS RWF ZAR XAF XOF ZMW MWK EGP ETB".split()  # noqa: SIM905
)
_FEE_RATE = Decimal("0.014")
_FIRST_TRANSACTION_ID = 288_200_000
_FIRST_REFUND_ID = 8_600
_REFUNDS_PAGE_SIZE = 10


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def reply(status: int, body: Any) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json")


def fail(status: int, message: str) -> Response:
    return reply(status, {"status": "error", "message": message, "data": None})


def ok(message: str, data: Any) -> Response:
    return reply(200, {"status": "success", "message": message, "data": data})


async def _body(request: Request) -> dict[str, Any] | None:
    return await read_body(request, loads)


class FlutterwaveSandbox:
    def __init__(self) -> None:
        self.state = SandboxState()
        self.transaction_ids = _FIRST_TRANSACTION_ID
        self.refund_ids = _FIRST_REFUND_ID

    # Everything lives in the bounded store (cleared by the reset hook); a tx_ref is only
    # unique within an account, so a link's id carries the account.

    def link(self, account: str, tx_ref: str) -> dict[str, Any] | None:
        return self.state.get(f"link:{account}:{tx_ref}", owner=account)

    def link_of(self, account: str, transaction_id: str) -> dict[str, Any] | None:
        index = self.state.get(f"txnid:{transaction_id}", owner=account)
        return self.link(account, index["tx_ref"]) if index else None

    def transaction(self, account: str, transaction_id: str) -> dict[str, Any] | None:
        link = self.link_of(account, transaction_id)
        return link["transaction"] if link else None

    def settings_of(self, account: str) -> dict[str, str]:
        return settings_of(self.state, account)

    # --- JSON shapes ------------------------------------------------------------------------

    @staticmethod
    def transaction_json(link: dict[str, Any]) -> dict[str, Any]:
        txn = link["transaction"]
        paid = txn["status"] == "successful"
        return {
            "id": txn["id"],
            "tx_ref": link["tx_ref"],
            "flw_ref": txn["flw_ref"],
            "device_fingerprint": "N/A",
            "amount": link["amount"],
            "currency": link["currency"],
            "charged_amount": link["amount"],
            "app_fee": txn["app_fee"],
            "merchant_fee": 0,
            "processor_response": "Approved by Financial Institution" if paid else "Declined",
            "auth_model": "PIN",
            "ip": "127.0.0.1",
            "narration": "CARD Transaction ",
            "status": txn["status"],
            "payment_type": "card",
            "created_at": txn["created_at"],
            "account_id": 17321,
            "card": {
                "first_6digits": "553188",
                "last_4digits": "2950",
                "issuer": "MASTERCARD  CREDIT",
                "country": "NIGERIA NG",
                "type": "MASTERCARD",
                "token": f"flw-t1nf-{txn['flw_ref'][-12:].lower()}-m03k",
                "expiry": "09/32",
            },
            "meta": link["meta"],
            "amount_settled": link["amount"] - txn["app_fee"] if paid else None,
            "customer": {
                "id": 216519823,
                "name": link["customer"].get("name") or "Anonymous customer",
                "phone_number": link["customer"].get("phonenumber") or "N/A",
                "email": link["customer"]["email"],
                "created_at": txn["created_at"],
            },
        }

    @staticmethod
    def refund_json(refund: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": refund["id"],
            "account_id": 17321,
            "tx_id": refund["tx_id"],
            "flw_ref": refund["flw_ref"],
            "wallet_id": 74639,
            "amount_refunded": refund["amount"],
            "status": refund["status"],
            "destination": "payment_source",
            "meta": {"source": "availablebalance"},
            "created_at": refund["created_at"],
        }

    @staticmethod
    def refund_row(refund: dict[str, Any]) -> dict[str, Any]:
        """A refund as `GET /v3/refunds` lists it (`transaction_id`, not `tx_id`)."""
        return {
            "id": refund["id"],
            "amount_refunded": refund["amount"],
            "status": refund["status"],
            "flw_ref": refund["flw_ref"],
            "comment": refund.get("comments"),
            "settlement_id": "NEW",
            "meta": {"source": "availablebalance"},
            "created_at": refund["created_at"],
            "account_id": 17321,
            "transaction_id": refund["tx_id"],
        }

    # --- API --------------------------------------------------------------------------------

    async def create_link(self, request: Request, account: str, key: str) -> Response:
        body = await _body(request)
        if body is None:
            return fail(400, "Invalid request body")
        tx_ref = body.get("tx_ref")
        if not isinstance(tx_ref, str) or not tx_ref:
            return fail(400, "tx_ref is required")
        currency = str(body.get("currency") or "NGN").upper()
        if currency not in CURRENCIES or not is_currency(currency):
            return fail(400, "Invalid currency provided")
        amount = major_amount(body.get("amount"), currency)
        if amount is None:
            return fail(400, "Invalid amount provided")
        customer = body.get("customer")
        if not isinstance(customer, dict) or not isinstance(customer.get("email"), str):
            return fail(400, "customer.email is required")
        existing = self.link(account, tx_ref)
        if existing is not None:
            if existing["amount"] != amount or existing["currency"] != currency:
                return fail(400, "Duplicate transaction reference")
            return ok("Hosted Link", {"link": self.checkout_url(request, existing["token"])})
        link: dict[str, Any] = {
            "tx_ref": tx_ref,
            "token": new_id("", 12).lower(),
            "amount": amount,
            "currency": currency,
            "customer": customer,
            "meta": body.get("meta") if isinstance(body.get("meta"), dict) else None,
            "redirect_url": body.get("redirect_url"),
            "transaction": None,
        }
        self.state.put(f"link:{account}:{tx_ref}", link, owner=account)
        self.state.put(
            f"token:{link['token']}", {"account": account, "tx_ref": tx_ref}, owner=account
        )
        return ok("Hosted Link", {"link": self.checkout_url(request, link["token"])})

    @staticmethod
    def checkout_url(request: Request, token: str) -> str:
        return f"{mount_url(request)}{HOOK_PREFIX}/checkout/{token}"

    async def verify_by_reference(self, request: Request, account: str, key: str) -> Response:
        link = self.link(account, request.query_params.get("tx_ref", ""))
        if link is None or link["transaction"] is None:
            return fail(400, "No transaction was found for this id")
        return ok("Transaction fetched successfully", self.transaction_json(link))

    async def verify(self, request: Request, account: str, key: str) -> Response:
        link = self.link_of(account, request.path_params["id"])
        if link is None:
            return fail(400, "No transaction was found for this id")
        return ok("Transaction fetched successfully", self.transaction_json(link))

    async def refund(self, request: Request, account: str, key: str) -> Response:
        txn = self.transaction(account, request.path_params["id"])
        if txn is None:
            return fail(400, "No transaction was found for this id")
        link = self.link(account, txn["tx_ref"])
        assert link is not None
        body = await _body(request)
        if body is None:
            return fail(400, "Invalid request body")
        if txn["status"] != "successful":
            return fail(400, "Only successful transactions can be refunded")
        remaining = link["amount"] - txn["refunded"]
        amount = (
            remaining
            if body.get("amount") is None
            else major_amount(body["amount"], link["currency"])
        )
        if amount is None:
            return fail(400, "Invalid amount provided")
        if amount > remaining:
            return fail(400, "Refund amount cannot be greater than the amount left to refund")
        self.refund_ids += 1
        refund = {
            "id": self.refund_ids,
            "tx_id": txn["id"],
            "flw_ref": txn["flw_ref"],
            "amount": amount,
            "status": "completed",
            "created_at": _now(),
            "comments": body.get("comments"),
        }
        self.state.put(f"refund:{refund['id']}", refund, owner=account)
        txn["refunded"] += amount
        self._notify(account, "refund.completed", self.refund_json(refund))
        return ok("Transaction refund initiated", self.refund_json(refund))

    async def fetch_refund(self, request: Request, account: str, key: str) -> Response:
        refund = self.state.get(f"refund:{request.path_params['id']}", owner=account)
        if refund is None:
            return fail(400, "No refund was found for this id")
        return ok("Refund fetched", self.refund_json(refund))

    async def list_refunds(self, request: Request, account: str, key: str) -> Response:
        query = request.query_params
        since, until = query.get("from"), query.get("to")
        for day in (since, until):
            if day is not None and not _DAY.match(day):
                return fail(400, "Invalid date format, use YYYY-MM-DD")
        page_text = query.get("page", "1")
        if not page_text.isdigit() or int(page_text) < 1:
            return fail(400, "Invalid page provided")
        page = int(page_text)
        # The account's refunds in the bounded store, newest first.
        rows = [
            self.refund_row(refund)
            for obj_id, refund in reversed(list(self.state.objects.items()))
            if obj_id.startswith("refund:")
            and self.state.owner_of(obj_id) == account
            and self._listed(account, refund, query, since, until)
        ]
        total_pages = max(1, -(-len(rows) // _REFUNDS_PAGE_SIZE))
        start = (page - 1) * _REFUNDS_PAGE_SIZE
        return reply(
            200,
            {
                "status": "success",
                "message": "Refunds fetched",
                "meta": {
                    "page_info": {
                        "total": len(rows),
                        "current_page": page,
                        "total_pages": total_pages,
                        "page_size": _REFUNDS_PAGE_SIZE,
                    }
                },
                "data": rows[start : start + _REFUNDS_PAGE_SIZE],
            },
        )

    def _listed(
        self,
        account: str,
        refund: dict[str, Any],
        query: Any,
        since: str | None,
        until: str | None,
    ) -> bool:
        day = refund["created_at"][:10]
        if (since and day < since) or (until and day > until):
            return False
        if query.get("id") is not None and query["id"] != str(refund["tx_id"]):
            return False
        if query.get("status") is not None and query["status"] != refund["status"]:
            return False
        if query.get("flw_ref") is not None and query["flw_ref"] != refund["flw_ref"]:
            return False
        if query.get("currency") is not None:
            txn = self.transaction(account, str(refund["tx_id"]))
            link = self.link(account, txn["tx_ref"]) if txn else None
            if link is None or link["currency"] != query["currency"].upper():
                return False
        return True

    # --- hosted page and hooks ----------------------------------------------------------------

    async def checkout(self, request: Request) -> Response:
        found = self.state.get(f"token:{request.path_params['token']}")
        link = self.link(found["account"], found["tx_ref"]) if found else None
        if link is None or found is None:
            return invalid_link("payment link")
        if request.method == "GET":
            return HTMLResponse(_checkout_page(link))
        outcome, from_form = await read_outcome(request)
        if outcome is None:
            return fail(400, "outcome must be success or failed")
        if link["transaction"] is not None and link["transaction"]["status"] == "successful":
            return fail(400, "This payment link has already been paid")
        self.transaction_ids += 1
        paid = outcome == "success"
        quantum = fee_quantum(link["currency"])
        link["transaction"] = {
            "id": self.transaction_ids,
            "tx_ref": link["tx_ref"],
            "flw_ref": f"FLW-MOCK-{new_id('', 24).lower()}",
            "status": "successful" if paid else "failed",
            "app_fee": (link["amount"] * _FEE_RATE).quantize(quantum) if paid else Decimal(0),
            "created_at": _now(),
            "refunded": Decimal(0),
        }
        index = {"tx_ref": link["tx_ref"]}
        self.state.put(f"txnid:{self.transaction_ids}", index, owner=found["account"])
        self._notify(found["account"], "charge.completed", self.transaction_json(link))
        status = link["transaction"]["status"]
        redirect = link.get("redirect_url")
        if from_form and isinstance(redirect, str) and redirect:
            query = {
                "status": status,
                "tx_ref": link["tx_ref"],
                "transaction_id": self.transaction_ids,
            }
            return redirect_back(redirect, query)
        return ok("Payment completed", {"tx_ref": link["tx_ref"], "status": status})

    @staticmethod
    def signed(event: str, data: dict[str, Any], secret_hash: str) -> tuple[dict[str, str], bytes]:
        body = dumps({"event": event, "data": data, "event.type": "CARD_TRANSACTION"})
        headers = {
            "content-type": "application/json",
            "verif-hash": secret_hash,
            "flutterwave-signature": signature(secret_hash, body),
        }
        return headers, body

    def _notify(self, account: str, event: str, data: dict[str, Any]) -> None:
        settings = self.settings_of(account)
        url, secret_hash = settings.get("webhook_url"), settings.get("secret_hash")
        if url and secret_hash:
            headers, body = self.signed(event, data, secret_hash)
            deliver_later(self.state, url, headers=headers, body=body)

    async def webhook(self, request: Request, account: str, key: str) -> Response:
        body = await _body(request) or {}
        secret_hash = body.get("secret_hash") or self.settings_of(account).get("secret_hash")
        if not isinstance(secret_hash, str) or not secret_hash:
            return fail(400, "Set a secret hash first (secret_hash)")
        if body.get("refund_id") is not None:
            refund = self.state.get(f"refund:{body['refund_id']}", owner=account)
            if refund is None:
                return fail(400, "No refund was found for this id")
            event, data = str(body.get("event") or "refund.completed"), self.refund_json(refund)
        else:
            link = self.link(account, str(body.get("tx_ref") or ""))
            if link is None or link["transaction"] is None:
                return fail(400, "No transaction was found for this id")
            event, data = str(body.get("event") or "charge.completed"), self.transaction_json(link)
        headers, raw = self.signed(event, data, secret_hash)
        url = body.get("url")
        return await signed_webhook_response(
            headers=headers, body=raw, url=url if isinstance(url, str) else None
        )

    async def settings(self, request: Request, account: str, key: str) -> Response:
        body = await _body(request) or {}
        if (refused := refused_webhook_setting(body)) is not None:
            return refused
        settings = update_settings(self.settings_of(account), body, ("webhook_url", "secret_hash"))
        return ok("Settings saved", {"webhook_url": settings.get("webhook_url")})


def _checkout_page(link: dict[str, Any]) -> str:
    return checkout_page(
        provider="Flutterwave",
        currency=link["currency"],
        amount=str(link["amount"]),
        email=link["customer"]["email"],
        reference=link["tx_ref"],
    )


def create_app() -> Starlette:
    sandbox = FlutterwaveSandbox()
    api = bearer_api(_KEY, lambda _key: fail(401, "Invalid authorization key"))
    routes = [
        Route("/v3/payments", api(sandbox.create_link), methods=["POST"]),
        Route(
            "/v3/transactions/verify_by_reference",
            api(sandbox.verify_by_reference),
            methods=["GET"],
        ),
        Route("/v3/transactions/{id}/verify", api(sandbox.verify), methods=["GET"]),
        Route("/v3/transactions/{id}/refund", api(sandbox.refund), methods=["POST"]),
        Route("/v3/refunds", api(sandbox.list_refunds), methods=["GET"]),
        Route("/v3/refunds/{id}", api(sandbox.fetch_refund), methods=["GET"]),
        Route(f"{HOOK_PREFIX}/checkout/{{token}}", sandbox.checkout, methods=["GET", "POST"]),
        Route(f"{HOOK_PREFIX}/webhooks", api(sandbox.webhook), methods=["POST"]),
        Route(f"{HOOK_PREFIX}/settings", api(sandbox.settings), methods=["POST"]),
    ]
    return sandbox_app(
        sandbox,
        routes,
        unavailable=lambda: fail(503, "Service unavailable, please try again later"),
    )
