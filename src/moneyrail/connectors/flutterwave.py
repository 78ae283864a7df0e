"""Flutterwave connector (API v3): hosted payment links (`POST /v3/payments`), verification,
refunds and webhook verification. Bearer secret key (`FLWSECK_…`), JSON bodies, amounts in
major units as JSON numbers: written from `Decimal` and read back into `Decimal`, never float.

- Our idempotency key becomes the `tx_ref`, which is also the provider payment id: a payment
  link is not a charge, and Flutterwave keys the transaction a customer makes by `tx_ref`.
  Flutterwave creates that transaction only when the customer pays on the hosted page, so
  until then `get_payment` raises `ProviderObjectNotFound`.
- Refunds need Flutterwave's numeric transaction id; the connector looks it up by `tx_ref`
  (`GET /v3/transactions/verify_by_reference?tx_ref=`). Partial refunds are supported.
- Webhooks: the newer `flutterwave-signature` header is the base64 HMAC-SHA256 of the raw
  body keyed with the dashboard's secret hash (as described by third-party integrations;
  Flutterwave's own page could not be retrieved); the legacy v3 `verif-hash` header is the
  secret hash itself, compared in constant time. When `flutterwave-signature` is present it
  must match (it binds the body); `verif-hash` alone is accepted for older accounts. The
  event id is `"{event}:{data.id}:{data.status}"`: Flutterwave's transaction (or refund) id
  with its status, stable across redeliveries and distinct per state change.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets as token
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import structlog

from moneyrail.connectors._common import (
    CapturedOnPayment,
    HttpOptions,
    ProviderObjectNotFound,
    bearer_headers,
    captured_on_payment,
    iso_timestamp,
    json_body,
    raise_for_client_error,
    require_value,
    webhook_json,
    webhook_secrets_or_hash,
)
from moneyrail.connectors.base import (
    CaptureMode,
    CreatePayment,
    Credentials,
    InvalidWebhookSignature,
    PaymentStatus,
    ProviderDeclined,
    ProviderError,
    ProviderNotSupported,
    ProviderPayment,
    ProviderRefund,
    RefundStatus,
    WebhookEvent,
)
from moneyrail.core import limits
from moneyrail.core.money import Money

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "flutterwave-signature"
LEGACY_HASH_HEADER = "verif-hash"
_NOT_FOUND = "no transaction was found"

_PAYMENT_STATUS = {
    "successful": PaymentStatus.captured,
    "failed": PaymentStatus.failed,
    "pending": PaymentStatus.processing,
    "cancelled": PaymentStatus.cancelled,
}
_REFUND_STATUS = {
    "completed": RefundStatus.succeeded,
    "successful": RefundStatus.succeeded,
    "pending": RefundStatus.pending,
    "failed": RefundStatus.failed,
}


# --- JSON numbers from and to Decimal -------------------------------------------------------


def dumps(payload: Any) -> bytes:
    """JSON with every `Decimal` written as the exact number it holds (`Decimal("10.50")` →
    `10.50`), which `json.dumps` cannot do without going through float."""
    nonce = token.token_hex(8)
    numbers: list[str] = []

    def number(value: Any) -> str:
        if isinstance(value, Decimal) and value.is_finite():
            numbers.append(format(value, "f"))
            return f"@{nonce}:{len(numbers) - 1}@"
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    text = json.dumps(payload, default=number, separators=(",", ":"))
    placeholder = re.compile(rf'"@{nonce}:(\d+)@"')
    return placeholder.sub(lambda m: numbers[int(m.group(1))], text).encode()


def loads(content: bytes) -> Any:
    """Parse JSON keeping fractional numbers as `Decimal`."""
    return json.loads(content, parse_float=Decimal)


def to_money(value: Any, currency: str) -> Money:
    """A major-unit amount from Flutterwave (`100`, `10.5`) as exact minor units."""
    return Money.parse(Decimal(str(value)), str(currency).upper())


def _fee(value: Any, currency: str) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    return Money.from_decimal(Decimal(value), currency.upper()).amount


def signature(secret_hash: str, body: bytes) -> str:
    """`flutterwave-signature`: base64 HMAC-SHA256 of the raw body keyed with the secret hash."""
    digest = hmac.new(secret_hash.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_signature(
    *, signature_header: str | None, hash_header: str | None, body: bytes, secrets: tuple[str, ...]
) -> None:
    """Check the body-bound signature when present, else the legacy secret-hash header,
    against every secret (all compared, whichever matches). Raises: InvalidWebhookSignature."""
    usable = [s for s in secrets if s][: limits.webhook_secrets_max]
    if not usable:
        raise InvalidWebhookSignature("no flutterwave secret hash is configured")
    if signature_header:
        presented, expected = signature_header.strip(), [signature(s, body) for s in usable]
    elif hash_header:
        presented, expected = hash_header, usable
    else:
        raise InvalidWebhookSignature("flutterwave-signature and verif-hash are both missing")
    matched = False
    for candidate in expected:
        matched |= hmac.compare_digest(candidate.encode(), presented.encode())
    if not matched:
        raise InvalidWebhookSignature("the flutterwave webhook signature does not match")


class FlutterwaveConnector(CapturedOnPayment):
    """`PaymentConnector` for Flutterwave v3. Raises the errors of `connectors.base`."""

    name = "flutterwave"

    def _http_options(self, credentials: Credentials) -> HttpOptions:
        self._webhook_secrets = webhook_secrets_or_hash(credentials)
        return bearer_headers(require_value(credentials, "secret_key")), None

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        retry: bool,
    ) -> Any:
        """One API call; Flutterwave answers `{"status": "success"|"error", "message", "data"}`."""
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
        return payload.get("data")

    # --- payments ---------------------------------------------------------------------------

    async def create_payment(self, request: CreatePayment) -> ProviderPayment:
        """Create a hosted payment link (`requires_action`, the link in `next_action_url`).

        Raises: ProviderNotSupported (manual capture), ProviderDeclined (no e-mail, refused),
        ProviderUnavailable, ProviderTimeout.
        """
        if request.capture == CaptureMode.manual:
            raise ProviderNotSupported("flutterwave captures payments when the customer pays")
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

    async def get_payment(self, provider_payment_id: str) -> ProviderPayment:
        """Raises: ProviderObjectNotFound (the customer has not paid on the link yet, or an
        unknown tx_ref), ProviderUnavailable, ProviderTimeout."""
        return self._payment(await self._transaction(provider_payment_id))

    def _payment(self, data: Mapping[str, Any]) -> ProviderPayment:
        currency = str(data["currency"]).upper()
        amount = to_money(data["amount"], currency)
        status = _PAYMENT_STATUS.get(str(data.get("status")), PaymentStatus.processing)
        return ProviderPayment(
            provider=self.name,
            provider_payment_id=str(data["tx_ref"]),
            status=status,
            amount=amount,
            captured_amount=amount.amount if status == PaymentStatus.captured else 0,
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

    # --- webhooks ---------------------------------------------------------------------------

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
        payload = webhook_json(body, loads)
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
            raise InvalidWebhookSignature("webhook body is not a Flutterwave event")
        event_type = str(payload.get("event") or payload.get("event.type") or "")
        data: dict[str, Any] = payload["data"]
        family = event_type.split(".", 1)[0]
        object_type = {"charge": "payment", "refund": "refund"}.get(family, "other")
        object_id = data.get("tx_ref") if object_type == "payment" else data.get("id")
        return WebhookEvent(
            provider=self.name,
            event_id=f"{event_type}:{data.get('id')}:{data.get('status')}",
            event_type=event_type,
            object_type=object_type,
            object_id=str(object_id) if object_id is not None else None,
            occurred_at=iso_timestamp(data.get("created_at")),
            payload=payload,
        )
