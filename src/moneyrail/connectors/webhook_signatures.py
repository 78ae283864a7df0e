"""The providers' webhook signature schemes, computed over the exact raw body.

Verifiers accept any of several secrets (a rotation keeps the old and new one valid for a
while), compare in constant time and raise `InvalidWebhookSignature` on any mismatch. The
signing halves are what our sandboxes use to sign the webhooks they send.

- Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]`, hex HMAC-SHA256 of `"{t}.{body}"`
  keyed with the endpoint secret (`whsec_…`) as UTF-8 bytes; timestamps older than the
  tolerance are refused.
- Razorpay: `X-Razorpay-Signature`, hex HMAC-SHA256 of the body keyed with the webhook
  secret; no timestamp.
- PayPal: `PAYPAL-TRANSMISSION-SIG`, base64 RSA PKCS#1 v1.5 SHA-256 over
  `"{transmission_id}|{transmission_time}|{webhook_id}|{crc32(body)}"` (CRC as unsigned
  decimal), checked with the certificate PayPal publishes at `PAYPAL-CERT-URL`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
import zlib
from collections.abc import Iterable, Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from moneyrail.connectors.base import InvalidWebhookSignature
from moneyrail.core import limits


def hmac_sha256_hex(key: str, message: bytes) -> str:
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def _usable(secrets: Sequence[str]) -> list[str]:
    usable = [s for s in secrets if s][: limits.webhook_secrets_max]
    if not usable:
        raise InvalidWebhookSignature("no webhook secret is configured for this provider")
    return usable


def _any_matches(expected: Iterable[str], provided: Iterable[str]) -> bool:
    # Every pair is compared, so the time taken does not depend on which one matched.
    matched = False
    provided_list = [p.encode() for p in provided]
    for candidate in expected:
        for given in provided_list:
            matched |= hmac.compare_digest(candidate.encode(), given)
    return matched


# --- Stripe ---------------------------------------------------------------------------------


def stripe_signature_header(body: bytes, secrets: Sequence[str], timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    parts = [f"t={timestamp}"] + [f"v1={hmac_sha256_hex(s, signed)}" for s in secrets]
    return ",".join(parts)


def verify_stripe(
    *,
    header: str | None,
    body: bytes,
    secrets: Sequence[str],
    tolerance_seconds: int = limits.stripe_webhook_tolerance_seconds,
    now: float | None = None,
) -> int:
    """Check a `Stripe-Signature` header; returns its timestamp."""
    usable = _usable(secrets)
    if not header:
        raise InvalidWebhookSignature("Stripe-Signature header is missing")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError as exc:
                raise InvalidWebhookSignature("Stripe-Signature timestamp is not a number") from exc
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidWebhookSignature("Stripe-Signature lacks a timestamp or a v1 signature")
    signed = f"{timestamp}.".encode() + body
    if not _any_matches((hmac_sha256_hex(s, signed) for s in usable), signatures):
        raise InvalidWebhookSignature("no Stripe signature matches the body")
    current = time.time() if now is None else now
    if tolerance_seconds and timestamp < current - tolerance_seconds:
        raise InvalidWebhookSignature("Stripe signature timestamp is outside the tolerance")
    return timestamp


# --- Razorpay -------------------------------------------------------------------------------


def razorpay_signature(body: bytes, secret: str) -> str:
    return hmac_sha256_hex(secret, body)


def verify_razorpay(*, signature: str | None, body: bytes, secrets: Sequence[str]) -> None:
    usable = _usable(secrets)
    if not signature:
        raise InvalidWebhookSignature("X-Razorpay-Signature header is missing")
    if not _any_matches((razorpay_signature(body, s) for s in usable), [signature.strip()]):
        raise InvalidWebhookSignature("the Razorpay signature does not match the body")


# --- PayPal ---------------------------------------------------------------------------------


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
    usable = _usable(webhook_ids)
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
