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

import asyncio
import base64
import functools
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509

from moneyrail.connectors._common import (
    HttpConnector,
    HttpOptions,
    ProviderCredentialsRejected,
    json_body,
    raise_for_client_error,
    require_value,
)
from moneyrail.connectors.base import (
    CaptureMode,
    CreatePayment,
    CreatePlan,
    CreateSubscription,
    Credentials,
    InvalidWebhookSignature,
    ProviderDeclined,
    ProviderNotSupported,
    ProviderPayment,
    ProviderRefund,
    ProviderSubscription,
    WebhookEvent,
)
from moneyrail.connectors.paypal_webhooks import CertificateCache, event_of, verify_with_api
from moneyrail.connectors.paypal_wire import (
    REFUND_STATUS,
    SUBSCRIPTION_STATUS,
    link,
    money_of,
    payment_of,
    refund_of,
    subscription_of,
    value_of,
)
from moneyrail.connectors.webhook_signatures import verify_paypal
from moneyrail.core import limits
from moneyrail.core.money import Money

# The amount and status readers stay importable from here.
__all__ = ["REFUND_STATUS", "SUBSCRIPTION_STATUS", "PayPalConnector", "money_of", "value_of"]


class PayPalConnector(HttpConnector):
    name = "paypal"

    def _http_options(self, credentials: Credentials) -> HttpOptions:
        pair = f"{require_value(credentials, 'client_id')}:{require_value(credentials, 'client_secret')}"
        self._client_auth = "Basic " + base64.b64encode(pair.encode()).decode()
        self._token: tuple[str, float] | None = None
        self._token_lock = asyncio.Lock()
        return None, None

    @functools.cached_property
    def _certificates(self) -> CertificateCache:
        return CertificateCache(self.http, self.credentials.environment)

    # --- HTTP -------------------------------------------------------------------------------

    async def _access_token(self) -> str:
        async with self._token_lock:
            if self._token and self._token[1] > time.monotonic():
                return self._token[0]
            response = await self.http.request(
                "POST",
                "/v1/oauth2/token",
                retry=True,
                data={"grant_type": "client_credentials"},
                headers={"Accept": "application/json", "Authorization": self._client_auth},
            )
            body = json_body(response)
            if response.status_code >= 400 or "access_token" not in body:
                raise ProviderCredentialsRejected(
                    str(body.get("error_description") or "PayPal refused the client credentials"),
                    extra={"provider_status": response.status_code},
                )
            lifetime = int(body.get("expires_in") or 0) - limits.paypal_token_refresh_margin_seconds
            self._token = (str(body["access_token"]), time.monotonic() + max(lifetime, 0))
            return self._token[0]

    async def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        request_id: str | None = None,
        content: bytes | None = None,
    ) -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {await self._access_token()}",
            "Prefer": "return=representation",
        }
        if request_id:
            headers["PayPal-Request-Id"] = request_id[:108]
        if content is not None:
            headers["Content-Type"] = "application/json"
        response = await self.http.request(
            method,
            path,
            retry=method == "GET" or request_id is not None,
            json=body,
            content=content,
            headers=headers,
        )
        if response.status_code == 204:
            return {}
        data = json_body(response)
        if response.status_code >= 400:
            details = data.get("details") or [{}]
            first = details[0] if isinstance(details, list) and details else {}
            if response.status_code == 401:
                self._token = None
            raise_for_client_error(
                response,
                message=str(first.get("description") or data.get("message") or ""),
                provider_code=str(first.get("issue") or data.get("name") or ""),
            )
        return data

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

    # --- subscriptions (see paypal_subscriptions.py) ---------------------------------------

    async def create_plan(self, request: CreatePlan) -> str:
        from moneyrail.connectors import paypal_subscriptions

        return await paypal_subscriptions.create_plan(self, request)

    async def create_subscription(self, request: CreateSubscription) -> ProviderSubscription:
        from moneyrail.connectors import paypal_subscriptions

        return await paypal_subscriptions.create_subscription(self, request)

    async def get_subscription(self, provider_subscription_id: str) -> ProviderSubscription:
        sub = await self._call("GET", f"/v1/billing/subscriptions/{provider_subscription_id}")
        return self.subscription_of(sub)

    def subscription_of(self, sub: Mapping[str, Any]) -> ProviderSubscription:
        return subscription_of(sub)

    async def _act(self, subscription_id: str, action: str, reason: str) -> ProviderSubscription:
        await self._call(
            "POST", f"/v1/billing/subscriptions/{subscription_id}/{action}", {"reason": reason}
        )
        return await self.get_subscription(subscription_id)

    async def cancel_subscription(
        self, provider_subscription_id: str, *, idempotency_key: str
    ) -> ProviderSubscription:
        return await self._act(provider_subscription_id, "cancel", "Cancelled by the merchant")

    async def pause_subscription(
        self, provider_subscription_id: str, *, idempotency_key: str
    ) -> ProviderSubscription:
        return await self._act(provider_subscription_id, "suspend", "Paused by the merchant")

    async def resume_subscription(
        self, provider_subscription_id: str, *, idempotency_key: str
    ) -> ProviderSubscription:
        return await self._act(provider_subscription_id, "activate", "Resumed by the merchant")

    # --- webhooks (see paypal_webhooks.py) --------------------------------------------------

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, secrets: tuple[str, ...], url: str
    ) -> WebhookEvent:
        lowered = {k.lower(): v for k, v in headers.items()}
        certificate = self._certificates.cached(lowered.get("paypal-cert-url", ""))
        if certificate is None:
            raise ProviderNotSupported(
                "PayPal webhooks need their signing certificate: use verify_webhook_async"
            )
        return self._verified(lowered, body, secrets, certificate)

    async def verify_webhook_async(
        self, *, headers: Mapping[str, str], body: bytes, secrets: tuple[str, ...], url: str
    ) -> WebhookEvent:
        """Verify offline with PayPal's certificate (fetched once per URL and cached).
        `secrets` are the webhook ids the events may be addressed to."""
        lowered = {k.lower(): v for k, v in headers.items()}
        cert_url = lowered.get("paypal-cert-url")
        if not cert_url:
            raise InvalidWebhookSignature("PAYPAL-CERT-URL header is missing")
        certificate = await self._certificates.get(cert_url)
        return self._verified(lowered, body, secrets, certificate)

    def _verified(
        self,
        lowered: Mapping[str, str],
        body: bytes,
        secrets: tuple[str, ...],
        certificate: x509.Certificate,
    ) -> WebhookEvent:
        verify_paypal(
            certificate=certificate,
            transmission_id=lowered.get("paypal-transmission-id"),
            transmission_time=lowered.get("paypal-transmission-time"),
            transmission_sig=lowered.get("paypal-transmission-sig"),
            auth_algo=lowered.get("paypal-auth-algo"),
            body=body,
            webhook_ids=secrets or self.credentials.webhook_secrets,
        )
        return self.event_of(body)

    async def verify_webhook_with_api(
        self, *, headers: Mapping[str, str], body: bytes, secrets: tuple[str, ...], url: str
    ) -> WebhookEvent:
        """Ask PayPal's `POST /v1/notifications/verify-webhook-signature`. The event is sent
        as the exact bytes received, since PayPal checks a CRC of them."""
        return await verify_with_api(
            self,
            headers=headers,
            body=body,
            webhook_ids=secrets or self.credentials.webhook_secrets,
        )

    def event_of(self, body: bytes) -> WebhookEvent:
        return event_of(body)
