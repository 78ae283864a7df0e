"""Flutterwave connector (API v3): hosted payment links (`POST /v3/payments`), verification,
refunds and webhook verification. Bearer secret key (`FLWSECK_…`), JSON bodies, amounts in
major units as JSON numbers: written from `Decimal` and read back into `Decimal`, never float.

- Our idempotency key becomes the `tx_ref`, which is also the provider payment id: a payment
  link is not a charge, and Flutterwave keys the transaction a customer makes by `tx_ref`.
  Flutterwave creates that transaction only when the customer pays on the hosted page, so
  until then `get_payment` raises `ProviderObjectNotFound`.
- Refunds need Flutterwave's numeric transaction id; the connector looks it up by `tx_ref`
  (`GET /v3/transactions/verify_by_reference?tx_ref=`). Partial refunds are supported.
- The transaction Flutterwave returns carries no refunded amount, so `get_payment` reads the
  transaction's refunds (`GET /v3/refunds?id={transaction id}&from=&to=&page=`, every page)
  and reports what they hold: `refunded_amount` is the sum of those not failed, which is
  what in-flight refund recovery compares with ours (`reports_partial_refunds`).
- Webhooks: the newer `flutterwave-signature` header is the base64 HMAC-SHA256 of the raw
  body keyed with the dashboard's secret hash (as described by third-party integrations;
  Flutterwave's own page could not be retrieved); the legacy v3 `verif-hash` header is the
  secret hash itself, compared in constant time. When `flutterwave-signature` is present it
  must match (it binds the body); `verif-hash` alone is accepted for older accounts. The
  event id is `"{event}:{data.id}:{data.status}"`: Flutterwave's transaction (or refund) id
  with its status, stable across redeliveries and distinct per state change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog

from moneyrail.connectors.base import (
    CreatePayment,
    PaymentStatus,
    ProviderDeclined,
    ProviderError,
    ProviderNotSupported,
    ProviderPayment,
    ProviderRefund,
    RefundStatus,
    WebhookEvent,
)
from moneyrail.connectors.flutterwave.webhooks import (
    LEGACY_HASH_HEADER,
    SIGNATURE_HEADER,
    event_of,
    verify_signature,
)
from moneyrail.connectors.flutterwave.wire import dumps, loads
from moneyrail.connectors.http import (
    HostedCheckoutConnector,
    ProviderObjectNotFound,
    json_body,
    raise_for_client_error,
)
from moneyrail.connectors.values import captured_on_payment
from moneyrail.core.money import Money

log = structlog.get_logger(__name__)

_NOT_FOUND = "no transaction was found"

_PAYMENT_STATUS = {
    "successful": PaymentStatus.captured,
    "failed": PaymentStatus.failed,
    "pending": PaymentStatus.processing,
    "cancelled": PaymentStatus.cancelled,
}
_CAPTURED = (
    PaymentStatus.captured,
    PaymentStatus.partially_refunded,
    PaymentStatus.refunded,
)
_REFUND_STATUS = {
    "completed": RefundStatus.succeeded,
    "successful": RefundStatus.succeeded,
    "pending": RefundStatus.pending,
    "failed": RefundStatus.failed,
}


# `GET /v3/refunds` pages; a bound on how many are read for one transaction.
_REFUND_PAGES_MAX = 20


def _day(value: Any) -> str:
    """A `YYYY-MM-DD` for the refunds list's `from` filter: the transaction's creation date
    (its refunds come after it); the epoch's when Flutterwave did not send one."""
    text = str(value or "")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return "2016-01-01"


def to_money(value: Any, currency: str) -> Money:
    """A major-unit amount from Flutterwave (`100`, `10.5`) as exact minor units."""
    return Money.parse(Decimal(str(value)), str(currency).upper())


def _fee(value: Any, currency: str) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    return Money.from_decimal(Decimal(value), currency.upper()).amount


class FlutterwaveConnector(HostedCheckoutConnector):
    """`PaymentConnector` for Flutterwave v3. Raises the errors of `connectors.base`."""

    name = "flutterwave"
    # `get_payment` reads the transaction's refunds: an amount refunded is reported exactly,
    # a partial one included.
    reports_partial_refunds = True

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        retry: bool,
    ) -> Any:
        """One API call; Flutterwave answers `{"status": "success"|"error", "message", "data"}`:
        its `data`."""
        payload = await self._envelope(method, path, body=body, params=params, retry=retry)
        return payload.get("data")

    async def _envelope(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        retry: bool,
    ) -> Mapping[str, Any]:
        """One API call: the whole answer (`data` and, on lists, `meta.page_info`)."""
        content = dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else None
        response = await self.http.request(
            method, path, content=content, headers=headers, params=params, retry=retry
        )
        payload = json_body(response, loads)
        message = str(payload.get("message") or "") or None
        if response.status_code == 400 and message and _NOT_FOUND in message.lower():
            raise ProviderObjectNotFound(message, extra={"provider_status": 400})
        raise_for_client_error(response, message=message, provider_code=None)
        if payload.get("status") != "success":
            raise ProviderDeclined(message or "flutterwave refused the request")
        return payload

    # --- payments ---------------------------------------------------------------------------

    async def create_payment(self, request: CreatePayment) -> ProviderPayment:
        """Create a hosted payment link (`requires_action`, the link in `next_action_url`).

        Raises: ProviderNotSupported (manual capture), ProviderDeclined (no e-mail, refused),
        ProviderUnavailable, ProviderTimeout.
        """
        self._refuse_manual_capture(request.capture)
        if not request.customer.email:
            raise ProviderDeclined("flutterwave needs the customer's e-mail address")
        tx_ref = request.idempotency_key
        customer = {"email": request.customer.email}
        if request.customer.name:
            customer["name"] = request.customer.name
        if request.customer.phone:
            customer["phonenumber"] = request.customer.phone
        body: dict[str, Any] = {
            "tx_ref": tx_ref,
            "amount": request.amount.to_decimal(),
            "currency": request.amount.currency,
            "customer": customer,
            "meta": {**request.metadata, "moneyrail_payment_id": request.reference},
        }
        if request.return_url:
            body["redirect_url"] = request.return_url
        if request.description:
            body["customizations"] = {"title": request.description[:100]}
        # Safe to repeat: a second link for the same tx_ref charges nobody.
        data = await self._call("POST", "/v3/payments", body=body, retry=True)
        link = data.get("link") if isinstance(data, dict) else None
        log.info("flutterwave.link_created", tx_ref=tx_ref)
        return ProviderPayment(
            provider=self.name,
            provider_payment_id=tx_ref,
            status=PaymentStatus.requires_action,
            amount=request.amount,
            next_action_url=link,
            raw=data if isinstance(data, dict) else {},
        )

    async def _transaction(self, tx_ref: str) -> dict[str, Any]:
        data = await self._call(
            "GET", "/v3/transactions/verify_by_reference", params={"tx_ref": tx_ref}, retry=True
        )
        if not isinstance(data, dict):
            raise ProviderError("flutterwave answered without a transaction")
        return data

    async def find_payment(self, *, reference: str, idempotency_key: str) -> ProviderPayment | None:
        """The payment a create with this `reference` (our payment id) and idempotency key
        made, looked up without sending the create again; None when the provider has none.

        `GET /v3/transactions/verify_by_reference?tx_ref=`: our idempotency key is the
        `tx_ref`. A payment link nobody paid has no transaction, hence None (the link was in
        the lost answer, so nobody can pay it).
        """
        try:
            return await self.get_payment(idempotency_key)
        except ProviderObjectNotFound:
            return None

    async def get_payment(self, provider_payment_id: str) -> ProviderPayment:
        """The transaction with what its refunds hold (a successful transaction's refunds are
        read too, see `refunds_of`).

        Raises: ProviderObjectNotFound (the customer has not paid on the link yet, or an
        unknown tx_ref), ProviderUnavailable, ProviderTimeout.
        """
        data = await self._transaction(provider_payment_id)
        refunded = 0
        if _PAYMENT_STATUS.get(str(data.get("status"))) == PaymentStatus.captured:
            refunded = sum(
                r.amount.amount
                for r in await self._refunds(data, tx_ref=provider_payment_id)
                if r.status != RefundStatus.failed
            )
        return self._payment(data, refunded=refunded)

    def _payment(self, data: Mapping[str, Any], *, refunded: int = 0) -> ProviderPayment:
        currency = str(data["currency"]).upper()
        amount = to_money(data["amount"], currency)
        status = _PAYMENT_STATUS.get(str(data.get("status")), PaymentStatus.processing)
        if status is PaymentStatus.captured and refunded:
            status = (
                PaymentStatus.refunded
                if refunded >= amount.amount
                else PaymentStatus.partially_refunded
            )
        return ProviderPayment(
            provider=self.name,
            provider_payment_id=str(data["tx_ref"]),
            status=status,
            amount=amount,
            captured_amount=amount.amount if status in _CAPTURED else 0,
            refunded_amount=refunded,
            fee=_fee(data.get("app_fee"), currency),
            raw=dict(data),
        )

    async def capture(
        self, provider_payment_id: str, *, amount: Money | None, idempotency_key: str
    ) -> ProviderPayment:
        """Flutterwave captures on payment: returns the payment when it is already captured.

        Raises: ProviderNotSupported (not yet paid, or a partial capture).
        """
        try:
            payment = await self.get_payment(provider_payment_id)
        except ProviderObjectNotFound as exc:
            raise ProviderNotSupported(
                "flutterwave captures payments when the customer pays"
            ) from exc
        return captured_on_payment(payment, amount, provider=self.name, settled=self.settled)

    async def cancel(self, provider_payment_id: str, *, idempotency_key: str) -> ProviderPayment:
        raise ProviderNotSupported("flutterwave payment links cannot be cancelled")

    # --- refunds ----------------------------------------------------------------------------

    async def refund(
        self,
        provider_payment_id: str,
        *,
        amount: Money,
        idempotency_key: str,
        reason: str | None = None,
    ) -> ProviderRefund:
        """Refund all or part of a paid transaction. The refund call itself is never retried
        (Flutterwave takes no idempotency key for it).

        Raises: ProviderObjectNotFound, ProviderDeclined (over-refund, currency mismatch),
        ProviderUnavailable, ProviderTimeout (outcome unknown).
        """
        transaction = await self._transaction(provider_payment_id)
        if str(transaction.get("currency", "")).upper() != amount.currency:
            raise ProviderDeclined("the refund's currency differs from the payment's")
        body: dict[str, Any] = {"amount": amount.to_decimal()}
        if reason:
            body["comments"] = reason
        data = await self._call(
            "POST", f"/v3/transactions/{transaction['id']}/refund", body=body, retry=False
        )
        log.info("flutterwave.refund_created", tx_ref=provider_payment_id)
        return self._refund(data, tx_ref=provider_payment_id, currency=amount.currency)

    async def refunds_of(self, provider_payment_id: str) -> list[ProviderRefund]:
        """Every refund of the transaction with this `tx_ref`, whatever its status.

        Raises: ProviderObjectNotFound (no transaction), ProviderUnavailable, ProviderTimeout.
        """
        return await self._refunds(
            await self._transaction(provider_payment_id), tx_ref=provider_payment_id
        )

    async def _refunds(
        self, transaction: Mapping[str, Any], *, tx_ref: str
    ) -> list[ProviderRefund]:
        """`GET /v3/refunds?id=` (the transaction's numeric id) from the transaction's day to
        tomorrow, page by page; rows of another transaction are ignored."""
        currency = str(transaction["currency"]).upper()
        transaction_id = str(transaction["id"])
        until = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        found: list[ProviderRefund] = []
        page = 1
        while True:
            params = {
                "id": transaction_id,
                "from": _day(transaction.get("created_at")),
                "to": until,
                "page": str(page),
            }
            payload = await self._envelope("GET", "/v3/refunds", params=params, retry=True)
            rows = payload.get("data")
            if not isinstance(rows, list):
                raise ProviderError("flutterwave answered without a list of refunds")
            meta = payload.get("meta")
            info = meta.get("page_info") if isinstance(meta, dict) else None
            total_pages = info.get("total_pages") if isinstance(info, dict) else None
            total_pages = total_pages if isinstance(total_pages, int) else 1
            for row in rows:
                if isinstance(row, dict) and str(row.get("transaction_id")) == transaction_id:
                    found.append(self._refund(row, tx_ref=tx_ref, currency=currency))
            if page >= total_pages or not rows:
                return found
            if page >= _REFUND_PAGES_MAX:
                raise ProviderError(
                    f"flutterwave lists more than {_REFUND_PAGES_MAX} pages of refunds"
                )
            page += 1

    async def get_refund(self, provider_refund_id: str) -> ProviderRefund:
        data = await self._call("GET", f"/v3/refunds/{provider_refund_id}", retry=True)
        transaction = await self._call(
            "GET", f"/v3/transactions/{data['tx_id']}/verify", retry=True
        )
        return self._refund(
            data, tx_ref=str(transaction["tx_ref"]), currency=str(transaction["currency"])
        )

    def _refund(self, data: Any, *, tx_ref: str, currency: str) -> ProviderRefund:
        if not isinstance(data, dict):
            raise ProviderError("flutterwave answered without a refund")
        return ProviderRefund(
            provider=self.name,
            provider_refund_id=str(data["id"]),
            provider_payment_id=tx_ref,
            status=_REFUND_STATUS.get(str(data.get("status")), RefundStatus.pending),
            amount=to_money(data["amount_refunded"], currency),
            raw=dict(data),
        )

    # --- webhooks (see webhooks.py) --------------------------------------------------------

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, secrets: tuple[str, ...], url: str
    ) -> WebhookEvent:
        """Verify against every given secret hash (several during a rotation; with none
        given, the credentials' own), then parse. Raises: InvalidWebhookSignature."""
        lowered = {k.lower(): v for k, v in headers.items()}
        verify_signature(
            signature_header=lowered.get(SIGNATURE_HEADER),
            hash_header=lowered.get(LEGACY_HASH_HEADER),
            body=body,
            secrets=secrets or self._webhook_secrets,
        )
        return event_of(body)
