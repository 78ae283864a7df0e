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

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

import structlog

from moneyrail.connectors import paystack_subscriptions
from moneyrail.connectors._common import (
    CapturedOnPayment,
    HttpOptions,
    bearer_headers,
    digest_reference,
    iso_timestamp,
    json_body,
    minor_money,
    raise_for_client_error,
    require_value,
    webhook_json,
)
from moneyrail.connectors.base import (
    CaptureMode,
    CreatePayment,
    CreatePlan,
    CreateSubscription,
    Credentials,
    InvalidWebhookSignature,
    PaymentStatus,
    ProviderDeclined,
    ProviderNotSupported,
    ProviderPayment,
    ProviderRefund,
    ProviderSubscription,
    RefundStatus,
    WebhookEvent,
)
from moneyrail.core import limits
from moneyrail.core.money import Money

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "x-paystack-signature"
# Paystack's published currency list. Each takes amounts in hundredths (kobo, pesewas, cents),
# which is our minor unit for all five; others are declined before anything is sent.
CURRENCIES = frozenset({"NGN", "GHS", "ZAR", "KES", "USD"})

_REFERENCE_ALLOWED = re.compile(r"^[A-Za-z0-9.=-]+$")

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
_SETTLED = (PaymentStatus.captured, PaymentStatus.partially_refunded, PaymentStatus.refunded)
_REFUND_STATUS = {
    "pending": RefundStatus.pending,
    "processing": RefundStatus.pending,
    "needs-attention": RefundStatus.pending,
    "processed": RefundStatus.succeeded,
    "failed": RefundStatus.failed,
}
_OBJECT_TYPES = {
    "charge": "payment",
    "refund": "refund",
    "subscription": "subscription",
    "invoice": "subscription",
}


def provider_reference(idempotency_key: str) -> str:
    """The Paystack `reference` for an idempotency key: the key itself when Paystack allows
    its characters (`-`, `.`, `=` and alphanumerics), otherwise a digest of it. Either way the
    same key always yields the same reference."""
    return digest_reference(idempotency_key, _REFERENCE_ALLOWED)


def signature(key: str, body: bytes) -> str:
    """`x-paystack-signature`: hex HMAC-SHA512 of the raw body keyed with the secret key."""
    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()


def verify_signature(*, header: str | None, body: bytes, keys: tuple[str, ...]) -> None:
    """Constant-time check of the header against every key (all are compared, whichever
    matches). Raises: InvalidWebhookSignature."""
    presented = (header or "").strip().lower().encode()
    usable = [k for k in keys if k][: limits.webhook_secrets_max]
    matched = False
    for key in usable:
        matched |= hmac.compare_digest(signature(key, body).encode(), presented)
    if not presented or not matched:
        raise InvalidWebhookSignature("x-paystack-signature does not match the body")


class PaystackConnector(CapturedOnPayment):
    """`PaymentConnector` for Paystack. Raises the errors of `connectors.base`."""

    name = "paystack"
    settled = _SETTLED

    def _http_options(self, credentials: Credentials) -> HttpOptions:
        self._secret_key = require_value(credentials, "secret_key")
        self._webhook_secrets = credentials.webhook_secrets
        return bearer_headers(self._secret_key), None

    async def _call(
        self, method: str, path: str, *, body: Mapping[str, Any] | None = None, retry: bool
    ) -> dict[str, Any]:
        """One API call and Paystack's envelope: `{"status": true, "message", "data"}` on
        success, `{"status": false, "message", "code"?}` on failure."""
        response = await self.http.request(method, path, json=body, retry=retry)
        payload = json_body(response)
        raise_for_client_error(
            response,
            message=str(payload.get("message") or "") or None,
            provider_code=payload.get("code") if isinstance(payload.get("code"), str) else None,
        )
        if payload.get("status") is not True:
            raise ProviderDeclined(str(payload.get("message") or "paystack refused the request"))
        return payload

    # --- payments ---------------------------------------------------------------------------

    async def create_payment(self, request: CreatePayment) -> ProviderPayment:
        """Initialize a transaction and return its checkout URL (`requires_action`).

        Raises:
            ProviderNotSupported: manual capture was asked for.
            ProviderDeclined: Paystack refused the request (no customer e-mail, bad currency…).
            ProviderUnavailable: Paystack could not be reached or failed before accepting.
            ProviderTimeout: the request was sent but no answer came.
        """
        if request.capture == CaptureMode.manual:
            raise ProviderNotSupported("paystack captures payments when the customer pays")
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

    # --- subscriptions (see paystack_subscriptions.py) -------------------------------------

    async def create_plan(self, request: CreatePlan) -> str:
        """A Paystack plan; returns its `plan_code` (`PLN_…`).

        Raises: ProviderNotSupported (an interval Paystack has no plan for), ProviderDeclined.
        """
        return await paystack_subscriptions.create_plan(self, request)

    async def create_subscription(self, request: CreateSubscription) -> ProviderSubscription:
        """Subscribe a customer who has paid before (Paystack charges their saved card, or
        the `payment_method` authorization code given).

        Raises: ProviderNotSupported (quantity or a cycle count, which Paystack sets on the
        plan), ProviderDeclined (no e-mail, no saved card), ProviderUnavailable.
        """
        return await paystack_subscriptions.create_subscription(self, request)

    async def get_subscription(self, provider_subscription_id: str) -> ProviderSubscription:
        return await paystack_subscriptions.get_subscription(self, provider_subscription_id)

    async def cancel_subscription(
        self, provider_subscription_id: str, *, idempotency_key: str
    ) -> ProviderSubscription:
        return await paystack_subscriptions.toggle(self, provider_subscription_id, "disable")

    async def pause_subscription(
        self, provider_subscription_id: str, *, idempotency_key: str
    ) -> ProviderSubscription:
        raise ProviderNotSupported("paystack subscriptions cannot be paused, only disabled")

    async def resume_subscription(
        self, provider_subscription_id: str, *, idempotency_key: str
    ) -> ProviderSubscription:
        """Re-enable a disabled subscription."""
        return await paystack_subscriptions.toggle(self, provider_subscription_id, "enable")

    # --- webhooks ---------------------------------------------------------------------------

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
        payload = webhook_json(body)
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
            raise InvalidWebhookSignature("webhook body is not a Paystack event")
        event_type = str(payload.get("event") or "")
        data: dict[str, Any] = payload["data"]
        object_type = _OBJECT_TYPES.get(event_type.split(".", 1)[0], "other")
        if object_type == "payment":
            object_id = data.get("reference")
        elif object_type == "subscription":
            object_id = data.get("subscription_code") or data.get("id")
        else:
            object_id = data.get("id")
        return WebhookEvent(
            provider=self.name,
            event_id=f"{event_type}:{data.get('id')}:{data.get('status')}",
            event_type=event_type,
            object_type=object_type,
            object_id=str(object_id) if object_id is not None else None,
            occurred_at=iso_timestamp(data.get("paid_at") or data.get("createdAt"))
            or iso_timestamp(data.get("created_at")),
            payload=payload,
        )
