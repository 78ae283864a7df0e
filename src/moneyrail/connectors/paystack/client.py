"""Paystack connector: hosted checkout (`/transaction/initialize`), verification, refunds and
webhook verification, over Paystack's REST API (`https://api.paystack.co`, JSON bodies,
`Authorization: Bearer sk_…`, amounts in the currency's subunit: kobo, pesewas, cents).

- Our idempotency key becomes Paystack's transaction `reference` (reduced to the characters
  Paystack allows), so a retried initialize can never open a second transaction: Paystack
  answers "Duplicate Transaction Reference" and we read the existing one back. The provider
  payment id is that reference, since `/transaction/verify/{reference}` is keyed by it.
- Paystack captures when the customer pays: there is no manual capture and no cancel.
- Subscriptions: plans (`/plan`), subscriptions of customers with a saved card
  (`/subscription`), cancelled and resumed with `/subscription/disable|enable`.
- Webhooks: `x-paystack-signature` is the hex HMAC-SHA512 of the raw body keyed with the
  secret key. Paystack events carry no id, so the event id is derived as
  `"{event}:{data.id}:{data.status}"` (transaction id for `charge.*`, refund id for
  `refund.*`): stable across redeliveries of one event, distinct for each state change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from moneyrail.connectors.base import (
    CreatePayment,
    PaymentStatus,
    ProviderDeclined,
    ProviderNotSupported,
    ProviderPayment,
    ProviderRefund,
    RefundStatus,
    WebhookEvent,
)
from moneyrail.connectors.http import ProviderObjectNotFound
from moneyrail.connectors.paystack.api import CURRENCIES, provider_reference
from moneyrail.connectors.paystack.subscriptions import PaystackSubscriptions
from moneyrail.connectors.paystack.webhooks import SIGNATURE_HEADER, event_of, verify_signature
from moneyrail.connectors.values import minor_money
from moneyrail.core.money import Money

log = structlog.get_logger(__name__)

_PAYMENT_STATUS = {
    "abandoned": PaymentStatus.requires_action,  # initialized, customer has not paid yet
    "ongoing": PaymentStatus.requires_action,
    "pending": PaymentStatus.processing,
    "processing": PaymentStatus.processing,
    "queued": PaymentStatus.processing,
    "success": PaymentStatus.captured,
    "failed": PaymentStatus.failed,
    "reversed": PaymentStatus.refunded,
}
_REFUND_STATUS = {
    "pending": RefundStatus.pending,
    "processing": RefundStatus.pending,
    "needs-attention": RefundStatus.pending,
    "processed": RefundStatus.succeeded,
    "failed": RefundStatus.failed,
}


class PaystackConnector(PaystackSubscriptions):
    """`PaymentConnector` for Paystack: payments and refunds here, on top of the API call
    path (`api.py`), subscriptions (`subscriptions.py`) and webhook verification
    (`webhooks.py`). Raises the errors of `connectors.base`."""

    # --- payments ---------------------------------------------------------------------------

    async def create_payment(self, request: CreatePayment) -> ProviderPayment:
        """Initialize a transaction and return its checkout URL (`requires_action`).

        Raises:
            ProviderNotSupported: manual capture was asked for.
            ProviderDeclined: Paystack refused the request (no customer e-mail, bad currency…).
            ProviderUnavailable: Paystack could not be reached or failed before accepting.
            ProviderTimeout: the request was sent but no answer came.
        """
        self._refuse_manual_capture(request.capture)
        if not request.customer.email:
            raise ProviderDeclined("paystack needs the customer's e-mail address")
        if request.amount.currency not in CURRENCIES:
            raise ProviderDeclined(f"paystack does not take {request.amount.currency}")
        reference = provider_reference(request.idempotency_key)
        metadata = {**request.metadata, "moneyrail_payment_id": request.reference}
        body: dict[str, Any] = {
            "email": request.customer.email,
            "amount": request.amount.amount,
            "currency": request.amount.currency,
            "reference": reference,
            "metadata": metadata,
        }
        if request.return_url:
            body["callback_url"] = request.return_url
        try:
            # Safe to repeat: Paystack refuses a second transaction with the same reference.
            payload = await self._call("POST", "/transaction/initialize", body=body, retry=True)
        except ProviderDeclined as exc:
            if exc.extra.get("provider_code") != "duplicate_reference":
                raise
            # A retry of a request Paystack already took: return the transaction it holds.
            log.info("paystack.duplicate_reference", reference=reference)
            return await self.get_payment(reference)
        data = payload.get("data") or {}
        log.info("paystack.initialized", reference=reference)
        return ProviderPayment(
            provider=self.name,
            provider_payment_id=str(data.get("reference") or reference),
            status=PaymentStatus.requires_action,
            amount=request.amount,
            next_action_url=data.get("authorization_url"),
            raw=data,
        )

    async def find_payment(self, *, reference: str, idempotency_key: str) -> ProviderPayment | None:
        """The payment a create with this `reference` (our payment id) and idempotency key
        made, looked up without sending the create again; None when the provider has none.

        `GET /transaction/verify/{reference}`: our idempotency key is the transaction's `reference`.
        """
        try:
            return await self.get_payment(provider_reference(idempotency_key))
        except ProviderObjectNotFound:
            return None

    async def get_payment(self, provider_payment_id: str) -> ProviderPayment:
        """Raises: ProviderObjectNotFound (unknown reference), ProviderUnavailable, ProviderTimeout."""
        payload = await self._call("GET", f"/transaction/verify/{provider_payment_id}", retry=True)
        return self._payment(payload.get("data") or {})

    def _payment(self, data: Mapping[str, Any]) -> ProviderPayment:
        amount = minor_money(data)
        raw_status = str(data.get("status") or "")
        status = _PAYMENT_STATUS.get(raw_status, PaymentStatus.processing)
        captured = (
            amount.amount if status in (PaymentStatus.captured, PaymentStatus.refunded) else 0
        )
        fees = data.get("fees")
        return ProviderPayment(
            provider=self.name,
            provider_payment_id=str(data["reference"]),
            status=status,
            amount=amount,
            captured_amount=captured,
            refunded_amount=amount.amount if status == PaymentStatus.refunded else 0,
            fee=int(fees) if isinstance(fees, int) else None,
            raw=dict(data),
        )

    async def cancel(self, provider_payment_id: str, *, idempotency_key: str) -> ProviderPayment:
        raise ProviderNotSupported("paystack transactions cannot be cancelled")

    # --- refunds ----------------------------------------------------------------------------

    async def refund(
        self,
        provider_payment_id: str,
        *,
        amount: Money,
        idempotency_key: str,
        reason: str | None = None,
    ) -> ProviderRefund:
        """Refund all or part of a paid transaction. Never retried: Paystack refunds take no
        idempotency key, so a repeat could refund twice.

        Raises: ProviderDeclined (over-refund, unpaid transaction), ProviderUnavailable,
        ProviderTimeout (outcome unknown: list the transaction's refunds before retrying).
        """
        body: dict[str, Any] = {
            "transaction": provider_payment_id,
            "amount": amount.amount,
            "currency": amount.currency,
        }
        if reason:
            body["merchant_note"] = reason
        payload = await self._call("POST", "/refund", body=body, retry=False)
        data = payload.get("data") or {}
        log.info("paystack.refund_created", reference=provider_payment_id, refund_id=data.get("id"))
        return self._refund(data, fallback_reference=provider_payment_id)

    async def get_refund(self, provider_refund_id: str) -> ProviderRefund:
        payload = await self._call("GET", f"/refund/{provider_refund_id}", retry=True)
        return self._refund(payload.get("data") or {}, fallback_reference="")

    def _refund(self, data: Mapping[str, Any], *, fallback_reference: str) -> ProviderRefund:
        transaction = data.get("transaction")
        reference = data.get("transaction_reference")
        if isinstance(transaction, Mapping):
            reference = transaction.get("reference") or reference
        return ProviderRefund(
            provider=self.name,
            provider_refund_id=str(data["id"]),
            provider_payment_id=str(reference or fallback_reference),
            status=_REFUND_STATUS.get(str(data.get("status")), RefundStatus.pending),
            amount=minor_money(data),
            raw=dict(data),
        )

    # --- webhooks (see webhooks.py) --------------------------------------------------------

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, secrets: tuple[str, ...], url: str
    ) -> WebhookEvent:
        """Check `x-paystack-signature` against the given secret keys, the connector's own and
        any older keys kept in the credentials' webhook secrets (several are valid during a
        key rotation), then parse.

        Raises: InvalidWebhookSignature (missing, malformed or mismatched signature).
        """
        header = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), None)
        # Paystack signs with the secret key, so the current one always counts.
        keys = tuple(dict.fromkeys((*secrets, self._secret_key, *self._webhook_secrets)))
        verify_signature(header=header, body=body, keys=keys)
        return event_of(body)
