"""Stripe: PaymentIntents, refunds and subscriptions over Stripe's form-encoded REST API.

Amounts are integer minor units (Stripe's own unit). Every POST carries our idempotency key
as `Idempotency-Key`, which makes retrying it safe, so writes and reads are retried within
`limits.provider_retries_max` on 429/5xx/connect failures. Webhooks: `Stripe-Signature`
(see `webhooks.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from moneyrail.connectors.base import (
    CaptureMode,
    CreatePayment,
    CreatePlan,
    CreateSubscription,
    Credentials,
    PaymentStatus,
    ProviderPayment,
    ProviderRefund,
    ProviderSubscription,
    RefundStatus,
    SubscriptionStatus,
    WebhookEvent,
)
from moneyrail.connectors.http import (
    HttpConnector,
    HttpOptions,
    json_body,
    raise_for_client_error,
    require_value,
)
from moneyrail.connectors.stripe.webhooks import event_of, verify_stripe
from moneyrail.connectors.values import minor_money, unix_timestamp
from moneyrail.core.money import Money

API_VERSION = "2024-06-20"
REFUND_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}

INTENT_STATUS = {
    "requires_payment_method": PaymentStatus.requires_action,
    "requires_confirmation": PaymentStatus.requires_action,
    "requires_action": PaymentStatus.requires_action,
    "processing": PaymentStatus.processing,
    "requires_capture": PaymentStatus.authorized,
    "succeeded": PaymentStatus.captured,
    "canceled": PaymentStatus.cancelled,
}
REFUND_STATUS = {
    "pending": RefundStatus.pending,
    "requires_action": RefundStatus.pending,
    "succeeded": RefundStatus.succeeded,
    "failed": RefundStatus.failed,
    "canceled": RefundStatus.failed,
}
SUBSCRIPTION_STATUS = {
    "incomplete": SubscriptionStatus.requires_action,
    "incomplete_expired": SubscriptionStatus.cancelled,
    "trialing": SubscriptionStatus.active,
    "active": SubscriptionStatus.active,
    "past_due": SubscriptionStatus.past_due,
    "unpaid": SubscriptionStatus.past_due,
    "canceled": SubscriptionStatus.cancelled,
    "paused": SubscriptionStatus.paused,
}


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten(f"{prefix}[{key}]", inner, out)
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            _flatten(f"{prefix}[{index}]", inner, out)
    elif isinstance(value, bool):
        out.append((prefix, "true" if value else "false"))
    elif value is not None:
        out.append((prefix, str(value)))


def form(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Stripe's bracketed form encoding (`metadata[k]=v`, `items[0][price]=…`)."""
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        _flatten(key, value, out)
    return out


class StripeConnector(HttpConnector):
    name = "stripe"
    # The payment it answers carries every refund made of it, partial ones included.
    reports_partial_refunds = True

    def _http_options(self, credentials: Credentials) -> HttpOptions:
        secret_key = require_value(credentials, "secret_key")
        return {"Authorization": f"Bearer {secret_key}", "Stripe-Version": API_VERSION}, None

    # --- HTTP -------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        encoded = form(params or {})
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        if method == "POST":
            response = await self.http.request(
                method,
                path,
                retry=True,
                content=urlencode(encoded).encode(),
                headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
            )
        else:
            response = await self.http.request(
                method, path, retry=True, params=urlencode(encoded), headers=headers
            )
        body = json_body(response)
        if response.status_code >= 400:
            found = body.get("error")
            error: dict[str, Any] = found if isinstance(found, dict) else {}
            raise_for_client_error(
                response,
                message=error.get("message"),
                provider_code=error.get("decline_code") or error.get("code") or error.get("type"),
            )
        return body

    # --- payments ---------------------------------------------------------------------------

    def _payment(self, intent: Mapping[str, Any]) -> ProviderPayment:
        status = INTENT_STATUS.get(str(intent.get("status")), PaymentStatus.processing)
        if intent.get("status") == "requires_payment_method" and intent.get("last_payment_error"):
            # The customer's last attempt was declined; Stripe waits for another method.
            status = PaymentStatus.failed
        charge = intent.get("latest_charge")
        refunded = int(charge.get("amount_refunded") or 0) if isinstance(charge, Mapping) else 0
        received = int(intent.get("amount_received") or 0)
        if status is PaymentStatus.captured and refunded:
            status = (
                PaymentStatus.refunded if refunded >= received else PaymentStatus.partially_refunded
            )
        next_action = intent.get("next_action") or {}
        redirect = next_action.get("redirect_to_url") if isinstance(next_action, Mapping) else None
        return ProviderPayment(
            provider=self.name,
            provider_payment_id=str(intent["id"]),
            status=status,
            amount=minor_money(intent),
            captured_amount=received,
            refunded_amount=refunded,
            next_action_url=redirect.get("url") if isinstance(redirect, Mapping) else None,
            raw=intent,
        )

    async def create_payment(self, request: CreatePayment) -> ProviderPayment:
        params: dict[str, Any] = {
            "amount": request.amount.amount,
            "currency": request.amount.currency.lower(),
            "capture_method": "manual" if request.capture is CaptureMode.manual else "automatic",
            "description": request.description,
            "receipt_email": request.customer.email,
            "metadata": {**request.metadata, "reference": request.reference},
            "expand": ["latest_charge"],
        }
        if request.payment_method:
            params.update(payment_method=request.payment_method, confirm=True)
            if request.return_url:
                params["return_url"] = request.return_url
            else:
                params["automatic_payment_methods"] = {"enabled": True, "allow_redirects": "never"}
        intent = await self._call(
            "POST", "/v1/payment_intents", params, idempotency_key=request.idempotency_key
        )
        return self._payment(intent)

    async def get_payment(self, provider_payment_id: str) -> ProviderPayment:
        intent = await self._call(
            "GET", f"/v1/payment_intents/{provider_payment_id}", {"expand": ["latest_charge"]}
        )
        return self._payment(intent)

    async def find_payment(self, *, reference: str, idempotency_key: str) -> ProviderPayment | None:
        """The payment a create with this `reference` (our payment id) and idempotency key
        made, looked up without sending the create again; None when the provider has none.

        Stripe's Search API (`GET /v1/payment_intents/search`) by the `metadata[reference]`
        every create carries. Search is eventually consistent (Stripe: under a minute), so
        callers treat "none" as final only after `limits.payment_in_flight_lookup_seconds`.
        """
        if "'" in reference or "\\" in reference:
            return None
        found = await self._call(
            "GET",
            "/v1/payment_intents/search",
            {"query": f"metadata['reference']:'{reference}'", "expand": ["data.latest_charge"]},
        )
        intents = [i for i in found.get("data") or [] if isinstance(i, dict)]
        if not intents:
            return None
        return self._payment(intents[0])

    async def capture(
        self, provider_payment_id: str, *, amount: Money | None, idempotency_key: str
    ) -> ProviderPayment:
        params: dict[str, Any] = {"expand": ["latest_charge"]}
        if amount is not None:
            params["amount_to_capture"] = amount.amount
        intent = await self._call(
            "POST",
            f"/v1/payment_intents/{provider_payment_id}/capture",
            params,
            idempotency_key=idempotency_key,
        )
        return self._payment(intent)

    async def cancel(self, provider_payment_id: str, *, idempotency_key: str) -> ProviderPayment:
        intent = await self._call(
            "POST",
            f"/v1/payment_intents/{provider_payment_id}/cancel",
            {"expand": ["latest_charge"]},
            idempotency_key=idempotency_key,
        )
        return self._payment(intent)

    def _refund(self, refund: Mapping[str, Any]) -> ProviderRefund:
        return ProviderRefund(
            provider=self.name,
            provider_refund_id=str(refund["id"]),
            provider_payment_id=str(refund.get("payment_intent") or refund.get("charge") or ""),
            status=REFUND_STATUS.get(str(refund.get("status")), RefundStatus.pending),
            amount=minor_money(refund),
            raw=refund,
        )

    async def refund(
        self,
        provider_payment_id: str,
        *,
        amount: Money,
        idempotency_key: str,
        reason: str | None = None,
    ) -> ProviderRefund:
        params: dict[str, Any] = {"payment_intent": provider_payment_id, "amount": amount.amount}
        if reason in REFUND_REASONS:
            params["reason"] = reason
        elif reason:
            params["metadata"] = {"reason": reason[:500]}
        refund = await self._call("POST", "/v1/refunds", params, idempotency_key=idempotency_key)
        return self._refund(refund)

    async def get_refund(self, provider_refund_id: str) -> ProviderRefund:
        return self._refund(await self._call("GET", f"/v1/refunds/{provider_refund_id}"))

    # --- subscriptions ----------------------------------------------------------------------

    async def create_plan(self, request: CreatePlan) -> str:
        """A recurring Stripe price (with its product); returns the price id."""
        price = await self._call(
            "POST",
            "/v1/prices",
            {
                "currency": request.amount.currency.lower(),
                "unit_amount": request.amount.amount,
                "recurring": {
                    "interval": request.interval.value,
                    "interval_count": request.interval_count,
                },
                "product_data": {"name": request.name},
            },
            idempotency_key=request.idempotency_key,
        )
        return str(price["id"])

    def _subscription(self, sub: Mapping[str, Any]) -> ProviderSubscription:
        status = SUBSCRIPTION_STATUS.get(str(sub.get("status")), SubscriptionStatus.past_due)
        if status is SubscriptionStatus.active and sub.get("pause_collection"):
            status = SubscriptionStatus.paused
        items = (sub.get("items") or {}).get("data") or [{}]
        first = items[0]
        price = first.get("price") or {}
        return ProviderSubscription(
            provider=self.name,
            provider_subscription_id=str(sub["id"]),
            status=status,
            plan_id=str(price.get("id") or ""),
            quantity=int(first.get("quantity") or 1),
            current_period_end=unix_timestamp(
                first.get("current_period_end") or sub.get("current_period_end")
            ),
            raw=sub,
        )

    async def create_subscription(self, request: CreateSubscription) -> ProviderSubscription:
        customer_params: dict[str, Any] = {
            "email": request.customer.email,
            "name": request.customer.name,
            "phone": request.customer.phone,
            "metadata": {"reference": request.reference},
        }
        if request.payment_method:
            customer_params["payment_method"] = request.payment_method
            customer_params["invoice_settings"] = {"default_payment_method": request.payment_method}
        customer = await self._call(
            "POST",
            "/v1/customers",
            customer_params,
            idempotency_key=f"{request.idempotency_key}:customer",
        )
        params: dict[str, Any] = {
            "customer": customer["id"],
            "items": [{"price": request.plan_id, "quantity": request.quantity}],
            "metadata": {**request.metadata, "reference": request.reference},
        }
        if not request.payment_method:
            params["payment_behavior"] = "default_incomplete"
        sub = await self._call(
            "POST", "/v1/subscriptions", params, idempotency_key=request.idempotency_key
        )
        return self._subscription(sub)

    async def find_subscription(
        self, *, reference: str, since: datetime | None = None
    ) -> ProviderSubscription | None:
        """The subscription a create with this `reference` (our subscription id) made, looked
        up without sending the create again; None when Stripe has none (`since`, the record's
        time, is not needed: the search is by reference alone).

        Stripe's Search API (`GET /v1/subscriptions/search`) by the `metadata[reference]`
        every create carries. Search is eventually consistent (Stripe: under a minute), so
        callers treat "none" as final only after `limits.payment_in_flight_lookup_seconds`.
        """
        if "'" in reference or "\\" in reference:
            return None
        found = await self._call(
            "GET", "/v1/subscriptions/search", {"query": f"metadata['reference']:'{reference}'"}
        )
        subs = [s for s in found.get("data") or [] if isinstance(s, dict)]
        if not subs:
            return None
        return self._subscription(subs[0])

    async def get_subscription(self, provider_subscription_id: str) -> ProviderSubscription:
        return self._subscription(
            await self._call("GET", f"/v1/subscriptions/{provider_subscription_id}")
        )

    async def _change_subscription(
        self, method: str, subscription_id: str, params: Mapping[str, Any] | None, key: str
    ) -> ProviderSubscription:
        path = f"/v1/subscriptions/{subscription_id}"
        return self._subscription(await self._call(method, path, params, idempotency_key=key))

    async def cancel_subscription(
        self, provider_subscription_id: str, *, idempotency_key: str
    ) -> ProviderSubscription:
        return await self._change_subscription(
            "DELETE", provider_subscription_id, None, idempotency_key
        )

    async def pause_subscription(
        self, provider_subscription_id: str, *, idempotency_key: str
    ) -> ProviderSubscription:
        pause = {"pause_collection": {"behavior": "void"}}
        return await self._change_subscription(
            "POST", provider_subscription_id, pause, idempotency_key
        )

    async def resume_subscription(
        self, provider_subscription_id: str, *, idempotency_key: str
    ) -> ProviderSubscription:
        resume = {"pause_collection": ""}
        return await self._change_subscription(
            "POST", provider_subscription_id, resume, idempotency_key
        )

    # --- webhooks (see webhooks.py) --------------------------------------------------------

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, secrets: tuple[str, ...], url: str
    ) -> WebhookEvent:
        lowered = {k.lower(): v for k, v in headers.items()}
        verify_stripe(
            header=lowered.get("stripe-signature"),
            body=body,
            secrets=secrets or self.credentials.webhook_secrets,
        )
        return event_of(body)
