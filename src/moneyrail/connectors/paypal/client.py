"""PayPal: Orders v2 approved by the payer, Payments v2 captures and refunds, Subscriptions v1.

Amounts are decimal strings in major units (`"10.50"`; no decimals for JPY, HUF, TWD).
Auth is OAuth2 client credentials, the token cached until shortly before it expires. Our
idempotency key travels as `PayPal-Request-Id`, which PayPal answers with the first
result, so those writes and all reads are retried on 429/5xx/connect failures.

Our payment is a PayPal order: `create_payment` answers `requires_action` with the payer's
approval link; once approved it reads `authorized` and `capture()` completes it (orders
with intent CAPTURE are captured whole; intent AUTHORIZE, used for manual capture, is
authorized then captured in full or in part).

Webhooks: PayPal's scheme needs its signing certificate, fetched from `PAYPAL-CERT-URL`
(only from PayPal's own hosts over HTTPS, or from this connector's base URL, i.e. the
sandbox), so verification is `verify_webhook_async`; the protocol's synchronous
`verify_webhook` works once that certificate is cached. `verify_webhook_with_api` asks
PayPal's `verify-webhook-signature` endpoint instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from moneyrail.connectors.base import (
    CaptureMode,
    CreatePayment,
    ProviderDeclined,
    ProviderNotSupported,
    ProviderPayment,
    ProviderRefund,
)
from moneyrail.connectors.paypal.subscriptions import PayPalSubscriptions
from moneyrail.connectors.paypal.webhooks import PayPalWebhooks
from moneyrail.connectors.paypal.wire import link, payment_of, refund_of, value_of
from moneyrail.core.money import Money


class PayPalConnector(PayPalSubscriptions, PayPalWebhooks):
    """`PaymentConnector` for PayPal: payments and refunds here, on top of the API call path
    (`api.py`), subscriptions (`subscriptions.py`) and webhooks (`webhooks.py`)."""

    # The order it answers carries every refund made of it, partial ones included.
    reports_partial_refunds = True

    # --- payments ---------------------------------------------------------------------------

    def _payment(self, order: Mapping[str, Any]) -> ProviderPayment:
        return payment_of(order)

    async def create_payment(self, request: CreatePayment) -> ProviderPayment:
        unit: dict[str, Any] = {
            "reference_id": request.reference[:256],
            "custom_id": request.reference[:127],
            "amount": {"currency_code": request.amount.currency, "value": value_of(request.amount)},
        }
        if request.description:
            unit["description"] = request.description[:127]
        body: dict[str, Any] = {
            "intent": "AUTHORIZE" if request.capture is CaptureMode.manual else "CAPTURE",
            "purchase_units": [unit],
        }
        if request.return_url:
            context = {"return_url": request.return_url, "cancel_url": request.return_url}
            if request.customer.email:
                body["payment_source"] = {
                    "paypal": {
                        "email_address": request.customer.email,
                        "experience_context": context,
                    }
                }
            else:
                body["payment_source"] = {"paypal": {"experience_context": context}}
        order = await self._call(
            "POST", "/v2/checkout/orders", body, request_id=request.idempotency_key
        )
        return self._payment(order)

    async def get_payment(self, provider_payment_id: str) -> ProviderPayment:
        return self._payment(await self._call("GET", f"/v2/checkout/orders/{provider_payment_id}"))

    async def find_payment(self, *, reference: str, idempotency_key: str) -> ProviderPayment | None:
        """The payment a create with this `reference` (our payment id) and idempotency key
        made, looked up without sending the create again; None when the provider has none.

        PayPal's Orders API v2 has no search or list of orders (only `GET /v2/checkout/
        orders/{id}`, and the id was in the lost answer); its only way back to a lost create
        is sending the create again under the same `PayPal-Request-Id`, which recovery must not
        do. An order whose create answer was lost cannot have been paid: the buyer approves it
        at the approval link, which was in that same answer. So there is nothing to find.
        """
        return None

    async def capture(
        self, provider_payment_id: str, *, amount: Money | None, idempotency_key: str
    ) -> ProviderPayment:
        order = await self._call("GET", f"/v2/checkout/orders/{provider_payment_id}")
        path = f"/v2/checkout/orders/{provider_payment_id}"
        if order.get("intent") == "CAPTURE":
            current = self._payment(order)
            if amount is not None and amount != current.amount:
                raise ProviderNotSupported(
                    "PayPal captures an order with intent CAPTURE whole; create the payment "
                    "with manual capture to capture part of it"
                )
            if order.get("status") != "COMPLETED":
                await self._call("POST", f"{path}/capture", {}, request_id=idempotency_key)
            return await self.get_payment(provider_payment_id)
        if order.get("status") == "APPROVED":
            order = await self._call(
                "POST", f"{path}/authorize", {}, request_id=f"{idempotency_key}:authorize"
            )
        unit = (order.get("purchase_units") or [{}])[0]
        authorizations = (unit.get("payments") or {}).get("authorizations") or []
        open_auth = next(
            (a for a in authorizations if a.get("status") in ("CREATED", "PARTIALLY_CAPTURED")),
            None,
        )
        if open_auth is not None:
            body: dict[str, Any] = {"final_capture": True}
            if amount is not None:
                body["amount"] = {"currency_code": amount.currency, "value": value_of(amount)}
            await self._call(
                "POST",
                f"/v2/payments/authorizations/{open_auth['id']}/capture",
                body,
                request_id=idempotency_key,
            )
        elif order.get("status") != "COMPLETED":
            # Not approved yet: PayPal answers ORDER_NOT_APPROVED, which we pass on.
            await self._call("POST", f"{path}/authorize", {}, request_id=idempotency_key)
        return await self.get_payment(provider_payment_id)

    async def cancel(self, provider_payment_id: str, *, idempotency_key: str) -> ProviderPayment:
        order = await self._call("GET", f"/v2/checkout/orders/{provider_payment_id}")
        unit = (order.get("purchase_units") or [{}])[0]
        authorizations = (unit.get("payments") or {}).get("authorizations") or []
        open_auth = next((a for a in authorizations if a.get("status") == "CREATED"), None)
        if open_auth is None:
            raise ProviderNotSupported(
                "only an authorized PayPal payment can be voided; orders awaiting the payer "
                "expire on their own"
            )
        await self._call(
            "POST",
            f"/v2/payments/authorizations/{open_auth['id']}/void",
            request_id=idempotency_key,
        )
        return await self.get_payment(provider_payment_id)

    def _refund(self, refund: Mapping[str, Any], order_id: str) -> ProviderRefund:
        return refund_of(refund, order_id)

    async def refund(
        self,
        provider_payment_id: str,
        *,
        amount: Money,
        idempotency_key: str,
        reason: str | None = None,
    ) -> ProviderRefund:
        order = await self._call("GET", f"/v2/checkout/orders/{provider_payment_id}")
        unit = (order.get("purchase_units") or [{}])[0]
        captures = [
            c
            for c in (unit.get("payments") or {}).get("captures") or []
            if c.get("status") in ("COMPLETED", "PARTIALLY_REFUNDED")
        ]
        if not captures:
            raise ProviderDeclined(
                "the PayPal order has no capture to refund",
                extra={"provider_code": "no_eligible_capture"},
            )
        body: dict[str, Any] = {
            "amount": {"currency_code": amount.currency, "value": value_of(amount)}
        }
        if reason:
            body["note_to_payer"] = reason[:255]
        refund = await self._call(
            "POST",
            f"/v2/payments/captures/{captures[0]['id']}/refund",
            body,
            request_id=idempotency_key,
        )
        return self._refund(refund, provider_payment_id)

    async def get_refund(self, provider_refund_id: str) -> ProviderRefund:
        refund = await self._call("GET", f"/v2/payments/refunds/{provider_refund_id}")
        up = link(refund, "up")
        order_id = ""
        if up:
            base_path = urlsplit(self.http.base_url).path.rstrip("/")
            capture = await self._call("GET", urlsplit(up).path.removeprefix(base_path))
            order_id = str(
                ((capture.get("supplementary_data") or {}).get("related_ids") or {}).get("order_id")
                or capture.get("id")
            )
        return self._refund(refund, order_id)
