"""Chapa connector (API v1): hosted checkout (`POST /v1/transaction/initialize`),
verification, cancellation, refunds and webhook verification. Bearer secret key
(`CHASECK_…`), JSON bodies, amounts in major units as decimal strings (`"100.50"`).

- Our idempotency key becomes the `tx_ref` (reduced to letters, digits, `-`, `_` and `.` when
  it has other characters), which is also the provider payment id: Chapa verifies, cancels
  and refunds by `tx_ref`, and refuses a second transaction with the same one ("Transaction
  reference has been used before"), so a retried initialize reads the existing one back.
- Chapa captures when the customer pays. Cancelling expires an unpaid checkout link
  (`PUT /v1/transaction/cancel/{tx_ref}`).
- Refunds: `POST /v1/refund/{tx_ref}` (`reason` required, `amount` optional for a partial
  refund). Chapa documents no answer body for it nor any refund lookup in v1, so the answer
  is read leniently and `get_refund` is not supported.
- Webhooks: `x-chapa-signature` is the hex HMAC-SHA256 of the raw body keyed with the
  dashboard's secret hash, and is required; `Chapa-Signature` (HMAC-SHA256 of the secret hash
  keyed with itself) is static, so it is only checked for consistency when present. Chapa
  events carry no id; the event id is `"{event}:{tx_ref}:{status}:{updated_at}"`, the same
  for redeliveries of one event and different for each change of the transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
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
from moneyrail.connectors.chapa.webhooks import (
    SIGNATURE_HEADER,
    STATIC_SIGNATURE_HEADER,
    event_of,
    verify_signature,
)
from moneyrail.connectors.http import (
    HostedCheckoutConnector,
    ProviderObjectNotFound,
    json_body,
    raise_for_client_error,
)
from moneyrail.connectors.values import (
    digest_reference,
    major_units,
)
from moneyrail.core.money import Money

log = structlog.get_logger(__name__)

_TX_REF_ALLOWED = re.compile(r"^[A-Za-z0-9._-]+$")
_DUPLICATE = "has been used before"
_ALREADY_EXPIRED = "already expired"

_PAYMENT_STATUS = {
    "pending": PaymentStatus.requires_action,
    "success": PaymentStatus.captured,
    "failed": PaymentStatus.failed,
    "cancelled": PaymentStatus.cancelled,
    "refunded": PaymentStatus.refunded,
    "reversed": PaymentStatus.refunded,
}
_SETTLED = (PaymentStatus.captured, PaymentStatus.refunded)
_REFUND_STATUS = {
    "success": RefundStatus.succeeded,
    "processed": RefundStatus.succeeded,
    "refunded": RefundStatus.succeeded,
    "pending": RefundStatus.pending,
    "processing": RefundStatus.pending,
    "failed": RefundStatus.failed,
}


def provider_reference(idempotency_key: str) -> str:
    """The `tx_ref` for an idempotency key: the key itself when it is short and plain,
    otherwise a digest of it; the same key always yields the same `tx_ref`."""
    return digest_reference(idempotency_key, _TX_REF_ALLOWED)


def to_money(value: Any, currency: str) -> Money:
    """A major-unit amount from Chapa (`"400.00"`, `100`, `3.5`) as exact minor units."""
    try:
        return Money.parse(Decimal(str(value)), str(currency).upper())
    except InvalidOperation as exc:  # pragma: no cover - Money.parse already checks
        raise ProviderError(f"unreadable amount {value!r}") from exc


def _fee(value: Any, currency: str) -> int | None:
    try:
        return Money.from_decimal(Decimal(str(value)), currency.upper()).amount
    except (InvalidOperation, ValueError):
        return None


class ChapaConnector(HostedCheckoutConnector):
    """`PaymentConnector` for Chapa v1. Raises the errors of `connectors.base`."""

    name = "chapa"
    settled = _SETTLED

    async def _call(
        self, method: str, path: str, *, body: Mapping[str, Any] | None = None, retry: bool
    ) -> Any:
        """One API call; Chapa answers `{"message", "status": "success"|"failed", "data"}`."""
        response = await self.http.request(method, path, json=body, retry=retry)
        payload = json_body(response)
        raw_message = payload.get("message")
        message = raw_message if isinstance(raw_message, str) else json.dumps(raw_message)
        raise_for_client_error(response, message=message or None, provider_code=None)
        if payload.get("status") != "success":
            raise ProviderDeclined(message or "chapa refused the request")
        return payload.get("data")

    # --- payments ---------------------------------------------------------------------------

    async def create_payment(self, request: CreatePayment) -> ProviderPayment:
        """Initialize a hosted checkout (`requires_action`, its URL in `next_action_url`).

        Raises: ProviderNotSupported (manual capture), ProviderDeclined, ProviderUnavailable,
        ProviderTimeout.
        """
        self._refuse_manual_capture(request.capture)
        tx_ref = provider_reference(request.idempotency_key)
        first, _, last = (request.customer.name or "").partition(" ")
        body: dict[str, Any] = {
            "amount": major_units(request.amount),
            "currency": request.amount.currency,
            "tx_ref": tx_ref,
            "meta": {**request.metadata, "moneyrail_payment_id": request.reference},
        }
        optional = {
            "email": request.customer.email,
            "phone_number": request.customer.phone,
            "first_name": first,
            "last_name": last,
            "return_url": request.return_url,
        }
        body.update({k: v for k, v in optional.items() if v})
        try:
            # Safe to repeat: Chapa refuses a second transaction with the same tx_ref.
            data = await self._call("POST", "/v1/transaction/initialize", body=body, retry=True)
        except ProviderDeclined as exc:
            if _DUPLICATE not in exc.detail:
                raise
            log.info("chapa.duplicate_tx_ref", tx_ref=tx_ref)
            return await self.get_payment(tx_ref)
        log.info("chapa.initialized", tx_ref=tx_ref)
        return ProviderPayment(
            provider=self.name,
            provider_payment_id=tx_ref,
            status=PaymentStatus.requires_action,
            amount=request.amount,
            next_action_url=data.get("checkout_url") if isinstance(data, dict) else None,
            raw=data if isinstance(data, dict) else {},
        )

    async def find_payment(self, *, reference: str, idempotency_key: str) -> ProviderPayment | None:
        """The payment a create with this `reference` (our payment id) and idempotency key
        made, looked up without sending the create again; None when the provider has none.

        `GET /v1/transaction/verify/{tx_ref}`: our idempotency key is the `tx_ref`.
        """
        try:
            return await self.get_payment(provider_reference(idempotency_key))
        except ProviderObjectNotFound:
            return None

    async def get_payment(self, provider_payment_id: str) -> ProviderPayment:
        """Raises: ProviderObjectNotFound, ProviderUnavailable, ProviderTimeout."""
        data = await self._call("GET", f"/v1/transaction/verify/{provider_payment_id}", retry=True)
        if not isinstance(data, dict):
            raise ProviderError("chapa answered without a transaction")
        currency = str(data["currency"]).upper()
        amount = to_money(data["amount"], currency)
        status = _PAYMENT_STATUS.get(str(data.get("status")).lower(), PaymentStatus.processing)
        settled = status in (PaymentStatus.captured, PaymentStatus.refunded)
        return ProviderPayment(
            provider=self.name,
            provider_payment_id=str(data.get("tx_ref") or provider_payment_id),
            status=status,
            amount=amount,
            captured_amount=amount.amount if settled else 0,
            refunded_amount=amount.amount if status == PaymentStatus.refunded else 0,
            fee=_fee(data.get("charge"), currency) if settled else None,
            raw=dict(data),
        )

    async def cancel(self, provider_payment_id: str, *, idempotency_key: str) -> ProviderPayment:
        """Expire an unpaid checkout link; repeating it is harmless.

        Raises: ProviderDeclined (the transaction is no longer active, e.g. paid).
        """
        try:
            await self._call("PUT", f"/v1/transaction/cancel/{provider_payment_id}", retry=True)
        except ProviderDeclined as exc:
            if _ALREADY_EXPIRED not in exc.detail or isinstance(exc, ProviderObjectNotFound):
                raise
            payment = await self.get_payment(provider_payment_id)
            if payment.status is not PaymentStatus.cancelled:
                raise
            return payment
        log.info("chapa.cancelled", tx_ref=provider_payment_id)
        return await self.get_payment(provider_payment_id)

    # --- refunds ----------------------------------------------------------------------------

    async def refund(
        self,
        provider_payment_id: str,
        *,
        amount: Money,
        idempotency_key: str,
        reason: str | None = None,
    ) -> ProviderRefund:
        """Refund all or part of a paid transaction; never retried.

        Raises: ProviderObjectNotFound, ProviderDeclined (over-refund, unpaid),
        ProviderUnavailable, ProviderTimeout (outcome unknown: verify before retrying).
        """
        body = {
            "reason": reason or "Requested by the merchant",
            "amount": major_units(amount),
            "reference": provider_reference(idempotency_key),
        }
        data = await self._call("POST", f"/v1/refund/{provider_payment_id}", body=body, retry=False)
        data = data if isinstance(data, dict) else {}
        refund_id = data.get("chapa_reference") or data.get("ref_id") or body["reference"]
        log.info("chapa.refund_created", tx_ref=provider_payment_id, refund_id=refund_id)
        answered = data.get("amount")
        return ProviderRefund(
            provider=self.name,
            provider_refund_id=str(refund_id),
            provider_payment_id=provider_payment_id,
            status=_REFUND_STATUS.get(str(data.get("status")).lower(), RefundStatus.pending),
            amount=to_money(answered, amount.currency) if answered is not None else amount,
            raw=data,
        )

    async def get_refund(self, provider_refund_id: str) -> ProviderRefund:
        raise ProviderNotSupported("chapa's v1 API has no refund lookup")

    # --- webhooks (see webhooks.py) --------------------------------------------------------

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, secrets: tuple[str, ...], url: str
    ) -> WebhookEvent:
        """Verify against every given secret hash (several during a rotation; with none
        given, the credentials' own), then parse. Raises: InvalidWebhookSignature."""
        lowered = {k.lower(): v for k, v in headers.items()}
        verify_signature(
            signature=lowered.get(SIGNATURE_HEADER),
            static=lowered.get(STATIC_SIGNATURE_HEADER),
            body=body,
            secrets=secrets or self._webhook_secrets,
        )
        return event_of(body)
