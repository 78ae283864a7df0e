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
import json
import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509

from moneyrail.connectors._common import (
    ProviderCredentialsRejected,
    json_body,
    major_units,
    provider_http,
    raise_for_client_error,
    require_value,
)
from moneyrail.connectors.base import (
    CaptureMode,
    CreatePayment,
    CreatePlan,
    CreateSubscription,
    Credentials,
    Environment,
    InvalidWebhookSignature,
    PaymentStatus,
    ProviderDeclined,
    ProviderNotSupported,
    ProviderPayment,
    ProviderRefund,
    ProviderSubscription,
    RefundStatus,
    SubscriptionStatus,
    WebhookEvent,
)
from moneyrail.connectors.webhook_signatures import verify_paypal
from moneyrail.core import limits
from moneyrail.core.money import Money

NO_DECIMALS = {"JPY", "HUF", "TWD"}
ACTION_STATUSES = {"CREATED", "SAVED", "PAYER_ACTION_REQUIRED"}
DONE_CAPTURES = {"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"}
REFUND_STATUS = {
    "COMPLETED": RefundStatus.succeeded,
    "PENDING": RefundStatus.pending,
    "FAILED": RefundStatus.failed,
    "CANCELLED": RefundStatus.failed,
}
SUBSCRIPTION_STATUS = {
    "APPROVAL_PENDING": SubscriptionStatus.requires_action,
    "APPROVED": SubscriptionStatus.active,
    "ACTIVE": SubscriptionStatus.active,
    "SUSPENDED": SubscriptionStatus.paused,
    "CANCELLED": SubscriptionStatus.cancelled,
    "EXPIRED": SubscriptionStatus.completed,
}
RESOURCE_OBJECTS = {
    "checkout-order": "payment",
    "capture": "payment",
    "authorization": "payment",
    "refund": "refund",
    "subscription": "subscription",
}


def value_of(money: Money) -> str:
    """PayPal's amount string; currencies PayPal takes without decimals must be whole."""
    if money.currency in NO_DECIMALS:
        whole = money.to_decimal()
        if whole != whole.to_integral_value():
            raise ProviderDeclined(f"PayPal takes {money.currency} amounts without decimals")
        return f"{whole:.0f}"
    return major_units(money)


def money_of(amount: Mapping[str, Any]) -> Money:
    return Money.parse(str(amount["value"]), str(amount["currency_code"]))


def _link(obj: Mapping[str, Any], *rels: str) -> str | None:
    for item in obj.get("links") or []:
        if item.get("rel") in rels:
            return str(item["href"])
    return None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


class PayPalConnector:
    name = "paypal"

    def __init__(
        self,
        credentials: Credentials,
        *,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_seconds: float = limits.provider_timeout_seconds,
    ) -> None:
        self.credentials = credentials
        pair = f"{require_value(credentials, 'client_id')}:{require_value(credentials, 'client_secret')}"
        self._client_auth = "Basic " + base64.b64encode(pair.encode()).decode()
        self.http = provider_http(
            self.name,
            credentials,
            base_url=base_url,
            transport=transport,
            timeout_seconds=timeout_seconds,
        )
        self._token: tuple[str, float] | None = None
        self._token_lock = asyncio.Lock()
        self._certificates: OrderedDict[str, x509.Certificate] = OrderedDict()

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
        unit = (order.get("purchase_units") or [{}])[0]
        amount = money_of(unit["amount"])
        payments = unit.get("payments") or {}
        captures = payments.get("captures") or []
        refunds = payments.get("refunds") or []
        authorizations = payments.get("authorizations") or []
        captured = sum(
            (money_of(c["amount"]).amount for c in captures if c.get("status") in DONE_CAPTURES), 0
        )
        refunded = sum(
            (money_of(r["amount"]).amount for r in refunds if r.get("status") == "COMPLETED"), 0
        )
        status = {
            "APPROVED": PaymentStatus.authorized,
            "VOIDED": PaymentStatus.cancelled,
        }.get(str(order.get("status")), PaymentStatus.requires_action)
        if order.get("status") == "COMPLETED":
            capture_states = {c.get("status") for c in captures}
            auth_states = {a.get("status") for a in authorizations}
            if captured:
                status = PaymentStatus.captured
                if refunded:
                    status = (
                        PaymentStatus.refunded
                        if refunded >= captured
                        else PaymentStatus.partially_refunded
                    )
            elif "PENDING" in capture_states or "PENDING" in auth_states:
                status = PaymentStatus.processing
            elif auth_states & {"CREATED"}:
                status = PaymentStatus.authorized
            elif auth_states & {"VOIDED"}:
                status = PaymentStatus.cancelled
            else:
                status = PaymentStatus.failed
        fee = None
        for capture in captures:
            breakdown = capture.get("seller_receivable_breakdown") or {}
            if breakdown.get("paypal_fee"):
                fee = (fee or 0) + money_of(breakdown["paypal_fee"]).amount
        return ProviderPayment(
            provider=self.name,
            provider_payment_id=str(order["id"]),
            status=status,
            amount=amount,
            captured_amount=captured,
            refunded_amount=refunded,
            fee=fee,
            next_action_url=_link(order, "approve", "payer-action")
            if status is PaymentStatus.requires_action
            else None,
            raw=order,
        )

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
        return ProviderRefund(
            provider=self.name,
            provider_refund_id=str(refund["id"]),
            provider_payment_id=order_id,
            status=REFUND_STATUS.get(str(refund.get("status")), RefundStatus.pending),
            amount=money_of(refund["amount"]),
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
        up = _link(refund, "up")
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
        status = SUBSCRIPTION_STATUS.get(str(sub.get("status")), SubscriptionStatus.past_due)
        billing = sub.get("billing_info") or {}
        return ProviderSubscription(
            provider=self.name,
            provider_subscription_id=str(sub["id"]),
            status=status,
            plan_id=str(sub.get("plan_id") or ""),
            quantity=int(float(sub.get("quantity") or 1)),
            next_action_url=_link(sub, "approve")
            if status is SubscriptionStatus.requires_action
            else None,
            current_period_end=_time(billing.get("next_billing_time")),
            raw=sub,
        )

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

    # --- webhooks ---------------------------------------------------------------------------

    def _cert_allowed(self, cert_url: str) -> bool:
        parts = urlsplit(cert_url)
        host = (parts.hostname or "").lower()
        if parts.scheme == "https" and (host == "paypal.com" or host.endswith(".paypal.com")):
            return True
        # The sandbox (or an explicitly configured base URL) serves its own certificate.
        return cert_url.startswith(self.http.base_url.rstrip("/") + "/")

    async def _certificate(self, cert_url: str) -> x509.Certificate:
        if cert_url in self._certificates:
            return self._certificates[cert_url]
        if not self._cert_allowed(cert_url):
            raise InvalidWebhookSignature("PAYPAL-CERT-URL does not point at PayPal")
        response = await self.http.request("GET", cert_url, retry=True)
        if response.status_code != 200 or len(response.content) > limits.paypal_cert_bytes_max:
            raise InvalidWebhookSignature("the PayPal signing certificate could not be fetched")
        try:
            chain = x509.load_pem_x509_certificates(response.content)
        except ValueError as exc:
            raise InvalidWebhookSignature("the PayPal signing certificate is unreadable") from exc
        certificate = chain[0]
        now = datetime.now(UTC)
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise InvalidWebhookSignature("the PayPal signing certificate is not valid now")
        if self.credentials.environment is Environment.live and not self._cert_allowed_name(
            certificate
        ):
            raise InvalidWebhookSignature("the signing certificate is not PayPal's")
        self._certificates[cert_url] = certificate
        while len(self._certificates) > limits.paypal_cert_cache_entries_max:
            self._certificates.popitem(last=False)
        return certificate

    @staticmethod
    def _cert_allowed_name(certificate: x509.Certificate) -> bool:
        names = [
            str(a.value)
            for a in certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        ]
        return any(n.lower().endswith(".paypal.com") for n in names)

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, secrets: tuple[str, ...], url: str
    ) -> WebhookEvent:
        lowered = {k.lower(): v for k, v in headers.items()}
        certificate = self._certificates.get(lowered.get("paypal-cert-url", ""))
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
        certificate = await self._certificate(cert_url)
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
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            json.loads(body)
        except ValueError as exc:
            raise InvalidWebhookSignature("the body is not JSON") from exc
        for webhook_id in (secrets or self.credentials.webhook_secrets)[
            : limits.webhook_secrets_max
        ]:
            fields = {
                "auth_algo": lowered.get("paypal-auth-algo", ""),
                "cert_url": lowered.get("paypal-cert-url", ""),
                "transmission_id": lowered.get("paypal-transmission-id", ""),
                "transmission_sig": lowered.get("paypal-transmission-sig", ""),
                "transmission_time": lowered.get("paypal-transmission-time", ""),
                "webhook_id": webhook_id,
            }
            content = json.dumps(fields)[:-1].encode() + b', "webhook_event": ' + body + b"}"
            answer = await self._call(
                "POST", "/v1/notifications/verify-webhook-signature", content=content
            )
            if answer.get("verification_status") == "SUCCESS":
                return self.event_of(body)
        raise InvalidWebhookSignature("PayPal did not confirm the webhook signature")

    def event_of(self, body: bytes) -> WebhookEvent:
        try:
            event = json.loads(body)
            resource = event.get("resource") or {}
            event_id = str(event["id"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidWebhookSignature("the signed body is not a PayPal event") from exc
        resource_type = str(event.get("resource_type") or "")
        related = (resource.get("supplementary_data") or {}).get("related_ids") or {}
        object_id = (
            related.get("order_id") or resource.get("id")
            if resource_type in ("capture", "authorization")
            else resource.get("id")
        )
        return WebhookEvent(
            provider=self.name,
            event_id=event_id,
            event_type=str(event.get("event_type") or ""),
            object_type=RESOURCE_OBJECTS.get(resource_type, resource_type or "other"),
            object_id=str(object_id) if object_id else None,
            occurred_at=_time(event.get("create_time")),
            payload=event,
        )

    async def aclose(self) -> None:
        await self.http.aclose()
