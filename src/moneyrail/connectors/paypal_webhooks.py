"""PayPal webhook verification pieces: the signing-certificate cache (certificates fetched
only from PayPal's own hosts over HTTPS, or from the connector's base URL, i.e. the
sandbox), verification through PayPal's `verify-webhook-signature` endpoint, and reading
a verified body as a `WebhookEvent`.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cryptography import x509

from moneyrail.connectors._common import ProviderHttp, utc_timestamp
from moneyrail.connectors.base import Environment, InvalidWebhookSignature, WebhookEvent
from moneyrail.core import limits

if TYPE_CHECKING:
    from moneyrail.connectors.paypal import PayPalConnector

RESOURCE_OBJECTS = {
    "checkout-order": "payment",
    "capture": "payment",
    "authorization": "payment",
    "refund": "refund",
    "subscription": "subscription",
}


class CertificateCache:
    """PayPal's signing certificates by `PAYPAL-CERT-URL`, fetched once and kept (bounded)."""

    def __init__(self, http: ProviderHttp, environment: Environment) -> None:
        self.http = http
        self.environment = environment
        self._certificates: OrderedDict[str, x509.Certificate] = OrderedDict()

    def cached(self, cert_url: str) -> x509.Certificate | None:
        return self._certificates.get(cert_url)

    def _allowed(self, cert_url: str) -> bool:
        parts = urlsplit(cert_url)
        host = (parts.hostname or "").lower()
        if parts.scheme == "https" and (host == "paypal.com" or host.endswith(".paypal.com")):
            return True
        # The sandbox (or an explicitly configured base URL) serves its own certificate.
        return cert_url.startswith(self.http.base_url.rstrip("/") + "/")

    async def get(self, cert_url: str) -> x509.Certificate:
        if cert_url in self._certificates:
            return self._certificates[cert_url]
        if not self._allowed(cert_url):
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
        if self.environment is Environment.live and not _paypal_name(certificate):
            raise InvalidWebhookSignature("the signing certificate is not PayPal's")
        self._certificates[cert_url] = certificate
        while len(self._certificates) > limits.paypal_cert_cache_entries_max:
            self._certificates.popitem(last=False)
        return certificate


def _paypal_name(certificate: x509.Certificate) -> bool:
    names = [
        str(a.value) for a in certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    ]
    return any(n.lower().endswith(".paypal.com") for n in names)


async def verify_with_api(
    connector: PayPalConnector,
    *,
    headers: Mapping[str, str],
    body: bytes,
    webhook_ids: tuple[str, ...],
) -> WebhookEvent:
    """Ask PayPal's `POST /v1/notifications/verify-webhook-signature` for each webhook id;
    the event goes as the exact bytes received, since PayPal checks a CRC of them."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        json.loads(body)
    except ValueError as exc:
        raise InvalidWebhookSignature("the body is not JSON") from exc
    for webhook_id in webhook_ids[: limits.webhook_secrets_max]:
        fields = {
            "auth_algo": lowered.get("paypal-auth-algo", ""),
            "cert_url": lowered.get("paypal-cert-url", ""),
            "transmission_id": lowered.get("paypal-transmission-id", ""),
            "transmission_sig": lowered.get("paypal-transmission-sig", ""),
            "transmission_time": lowered.get("paypal-transmission-time", ""),
            "webhook_id": webhook_id,
        }
        content = json.dumps(fields)[:-1].encode() + b', "webhook_event": ' + body + b"}"
        answer = await connector._call(
            "POST", "/v1/notifications/verify-webhook-signature", content=content
        )
        if answer.get("verification_status") == "SUCCESS":
            return event_of(body)
    raise InvalidWebhookSignature("PayPal did not confirm the webhook signature")


def event_of(body: bytes) -> WebhookEvent:
    """A verified PayPal event body as a `WebhookEvent`."""
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
        provider="paypal",
        event_id=event_id,
        event_type=str(event.get("event_type") or ""),
        object_type=RESOURCE_OBJECTS.get(resource_type, resource_type or "other"),
        object_id=str(object_id) if object_id else None,
        occurred_at=utc_timestamp(event.get("create_time")),
        payload=event,
    )
