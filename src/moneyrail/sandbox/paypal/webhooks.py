"""PayPal webhooks for the PayPal sandbox (`sandbox.paypal`).

Signed as PayPal signs them: `PAYPAL-TRANSMISSION-SIG` is base64 RSA-SHA256 over
`transmission_id|transmission_time|webhook_id|crc32(body)` with this sandbox's key; the
self-signed certificate is served where `PAYPAL-CERT-URL` points
(`GET /v1/notifications/certs/{id}`), and `POST /v1/notifications/verify-webhook-signature`
checks a signature against the exact bytes of the `webhook_event` it was sent.
`POST /_sandbox/webhooks` `{event_type, object_id, webhook_id, url?}` makes (and delivers)
one.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from moneyrail.connectors.paypal.webhooks import (
    paypal_sign,
    paypal_signed_message,
    verify_paypal,
)
from moneyrail.sandbox.paypal.routes import PayPalSandbox
from moneyrail.sandbox.paypal.wire import error, link, now_iso
from moneyrail.sandbox.state import (
    HOOK_PREFIX,
    UPPER_ALPHANUMERIC,
    bearer_token,
    mount_url,
    new_id,
    signed_webhook_response,
)

CERT_ID = "CERT-360caa42-fca2a594-sandbox0"


@lru_cache(maxsize=1)
def signing_key() -> tuple[rsa.RSAPrivateKey, bytes]:
    """The sandbox's webhook signing key and its self-signed certificate (PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "moneyrail PayPal sandbox webhook signing")]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


def raw_member(raw: bytes, name: str) -> bytes:
    """The exact bytes of a top-level member's value in a JSON object (PayPal's verify call
    must check the event as it was sent, not as re-serialized)."""
    text = raw.decode()
    decoder = json.JSONDecoder()
    index = text.index("{") + 1
    while True:
        while text[index] in " \t\r\n,":
            index += 1
        key, index = decoder.raw_decode(text, index)
        while text[index] in " \t\r\n:":
            index += 1
        start = index
        _, index = decoder.raw_decode(text, index)
        if key == name:
            return text[start:index].encode()


def webhook_routes(s: PayPalSandbox) -> list[Route]:

    async def cert(request: Request) -> Response:
        if request.path_params["cert_id"] != CERT_ID:
            return error(404).response()
        return PlainTextResponse(signing_key()[1].decode(), media_type="application/x-pem-file")

    async def verify_signature(request: Request) -> Response:
        if s.tokens.get(bearer_token(request) or "") is None:
            return error(401).response()
        raw = await request.body()
        try:
            body = json.loads(raw)
            event_raw = raw_member(raw, "webhook_event")
        except ValueError:
            return error(
                400, "MALFORMED_REQUEST_JSON", "The request JSON is not well formed."
            ).response()
        if not str(body.get("cert_url", "")).endswith(f"/v1/notifications/certs/{CERT_ID}"):
            return JSONResponse({"verification_status": "FAILURE"})
        certificate = x509.load_pem_x509_certificate(signing_key()[1])
        try:
            verify_paypal(
                certificate=certificate,
                transmission_id=body.get("transmission_id"),
                transmission_time=body.get("transmission_time"),
                transmission_sig=body.get("transmission_sig"),
                auth_algo=body.get("auth_algo"),
                body=event_raw,
                webhook_ids=[str(body.get("webhook_id") or "")],
            )
        except Exception:  # any failure of the check is a FAILURE answer, as PayPal gives
            return JSONResponse({"verification_status": "FAILURE"})
        return JSONResponse({"verification_status": "SUCCESS"})

    async def hook_webhook(request: Request) -> Response:
        spec = await request.json()
        obj = s.state.get(str(spec.get("object_id") or ""))
        webhook_id = spec.get("webhook_id")
        if obj is None or not isinstance(webhook_id, str) or not webhook_id:
            return JSONResponse({"error": "object_id and webhook_id are required"}, status_code=400)
        kind = obj["_kind"]
        resource_type = {
            "order": "checkout-order",
            "capture": "capture",
            "authorization": "authorization",
            "refund": "refund",
            "subscription": "subscription",
        }.get(kind, kind)
        default_type = {
            "order": "CHECKOUT.ORDER.APPROVED",
            "capture": "PAYMENT.CAPTURE.COMPLETED",
            "authorization": "PAYMENT.AUTHORIZATION.CREATED",
            "refund": "PAYMENT.CAPTURE.REFUNDED",
            "subscription": "BILLING.SUBSCRIPTION.ACTIVATED",
        }.get(kind, "UNKNOWN")
        resource = s.view(obj, request, ())
        event_id = f"WH-{new_id('', 17, UPPER_ALPHANUMERIC)}-{new_id('', 17, UPPER_ALPHANUMERIC)}"
        event = {
            "id": event_id,
            "event_version": "1.0",
            "create_time": now_iso(),
            "resource_type": resource_type,
            "resource_version": "2.0",
            "event_type": spec.get("event_type") or default_type,
            "summary": f"{resource_type} event",
            "resource": resource,
            "links": [
                link(f"{mount_url(request)}/v1/notifications/webhooks-events/{event_id}", "self")
            ],
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        transmission_id, transmission_time = str(uuid.uuid1()), now_iso()
        key, _ = signing_key()
        signature = paypal_sign(
            key,
            paypal_signed_message(
                transmission_id=transmission_id,
                transmission_time=transmission_time,
                webhook_id=webhook_id,
                body=body,
            ),
        )
        headers = {
            "Content-Type": "application/json",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": transmission_time,
            "PAYPAL-TRANSMISSION-SIG": signature,
            "PAYPAL-CERT-URL": f"{mount_url(request)}/v1/notifications/certs/{CERT_ID}",
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-AUTH-VERSION": "v2",
        }
        return await signed_webhook_response(headers=headers, body=body, url=spec.get("url"))

    return [
        Route("/v1/notifications/certs/{cert_id}", cert, methods=["GET"]),
        Route("/v1/notifications/verify-webhook-signature", verify_signature, methods=["POST"]),
        Route(f"{HOOK_PREFIX}/webhooks", hook_webhook, methods=["POST"]),
    ]
