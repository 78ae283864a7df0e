"""PayPal webhooks: `PAYPAL-TRANSMISSION-SIG`, the base64 RSA PKCS#1 v1.5 SHA-256 signature over
`"{transmission_id}|{transmission_time}|{webhook_id}|{crc32(body)}"` (CRC as unsigned
decimal), checked with the certificate PayPal publishes at `PAYPAL-CERT-URL`; the
signing-certificate cache (certificates fetched
only from PayPal's own hosts over HTTPS, or from the connector's base URL, i.e. the
sandbox), verification through PayPal's `verify-webhook-signature` endpoint, and reading
a verified body as a `WebhookEvent`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import zlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from moneyrail.connectors.base import (
    Environment,
    InvalidWebhookSignature,
    ProviderNotSupported,
    WebhookEvent,
)
from moneyrail.connectors.http import ProviderHttp
from moneyrail.connectors.paypal.api import PayPalApi
from moneyrail.connectors.signing import usable_secrets
from moneyrail.connectors.values import utc_timestamp
from moneyrail.core import limits

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
    connector: PayPalApi,
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


def paypal_signed_message(
    *, transmission_id: str, transmission_time: str, webhook_id: str, body: bytes
) -> bytes:
    crc = zlib.crc32(body) & 0xFFFFFFFF
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{crc}".encode()


def paypal_sign(private_key: rsa.RSAPrivateKey, message: bytes) -> str:
    signature = private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def verify_paypal(
    *,
    certificate: x509.Certificate,
    transmission_id: str | None,
    transmission_time: str | None,
    transmission_sig: str | None,
    auth_algo: str | None,
    body: bytes,
    webhook_ids: Sequence[str],
) -> str:
    """Check PayPal's transmission signature against each webhook id; returns the one that
    matched. `certificate` must already be trusted (fetched from an allowed PayPal host)."""
    usable = usable_secrets(webhook_ids)
    if not (transmission_id and transmission_time and transmission_sig):
        raise InvalidWebhookSignature("PayPal transmission headers are missing")
    if (auth_algo or "SHA256withRSA").upper() != "SHA256WITHRSA":
        raise InvalidWebhookSignature("unsupported PayPal signature algorithm")
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise InvalidWebhookSignature("the PayPal certificate does not hold an RSA key")
    try:
        signature = base64.b64decode(transmission_sig, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidWebhookSignature("PayPal transmission signature is not base64") from exc
    matched: str | None = None
    for webhook_id in usable:
        message = paypal_signed_message(
            transmission_id=transmission_id,
            transmission_time=transmission_time,
            webhook_id=webhook_id,
            body=body,
        )
        try:
            public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        matched = matched or webhook_id
    if matched is None:
        raise InvalidWebhookSignature("the PayPal signature does not match the body")
    return matched


class PayPalWebhooks(PayPalApi):
    """The webhook half of `PayPalConnector`. PayPal's scheme needs its signing certificate,
    so verification is `verify_webhook_async`; the protocol's synchronous `verify_webhook`
    works once that certificate is cached. `verify_webhook_with_api` asks PayPal's
    `verify-webhook-signature` endpoint instead."""

    @functools.cached_property
    def _certificates(self) -> CertificateCache:
        return CertificateCache(self.http, self.credentials.environment)

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
