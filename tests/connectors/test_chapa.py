"""Chapa connector against the Chapa sandbox, in process."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from moneyrail.connectors.base import (
    CaptureMode,
    InvalidWebhookSignature,
    PaymentStatus,
    ProviderDeclined,
    ProviderNotSupported,
    RefundStatus,
)
from moneyrail.connectors.chapa import ChapaConnector, provider_reference
from moneyrail.core.money import Money
from tests.connectors.hosted import CHAPA, checkout

P = CHAPA
HASH = P.webhook_secrets[0]
connector = P.connector
request = P.request
hook = P.hook
paid = P.paid


@pytest.fixture
async def chapa(transport: httpx.ASGITransport) -> AsyncIterator[ChapaConnector]:
    conn = connector(transport)
    yield conn
    await conn.aclose()


async def test_hosted_checkout_captures(
    chapa: ChapaConnector, transport: httpx.ASGITransport
) -> None:
    payment = await chapa.create_payment(request())
    assert payment.status is PaymentStatus.requires_action
    assert payment.provider_payment_id == "order-1001"
    assert payment.next_action_url and "/_sandbox/checkout/" in payment.next_action_url
    pending = await chapa.get_payment("order-1001")
    assert pending.status is PaymentStatus.requires_action
    assert pending.raw["amount"] == "400.50" and pending.raw["first_name"] == "Abebe"

    await checkout(transport, payment.next_action_url, "success")
    captured = await chapa.get_payment("order-1001")
    assert captured.status is PaymentStatus.captured
    assert (captured.amount, captured.captured_amount) == (Money(40_050, "ETB"), 40_050)
    assert captured.fee == 1_402  # 3.5% of 400.50, to the santim
    assert await chapa.capture("order-1001", amount=None, idempotency_key="c1") == captured
    with pytest.raises(ProviderNotSupported):
        await chapa.create_payment(request("order-2", capture=CaptureMode.manual))
    with pytest.raises(ProviderDeclined):
        await chapa.cancel("order-1001", idempotency_key="x1")  # paid: no longer active


async def test_cancel_expires_an_unpaid_checkout(
    chapa: ChapaConnector, transport: httpx.ASGITransport
) -> None:
    payment = await chapa.create_payment(request())
    with pytest.raises(ProviderNotSupported):
        await chapa.capture("order-1001", amount=None, idempotency_key="c1")
    cancelled = await chapa.cancel("order-1001", idempotency_key="x1")
    assert cancelled.status is PaymentStatus.cancelled
    assert (await chapa.cancel("order-1001", idempotency_key="x1")).status is (
        PaymentStatus.cancelled
    )
    assert payment.next_action_url
    async with httpx.AsyncClient(transport=transport) as client:
        late = await client.post(payment.next_action_url, json={"outcome": "success"})
    assert late.status_code == 400


async def test_partial_then_full_refund_and_over_refund(
    chapa: ChapaConnector, transport: httpx.ASGITransport
) -> None:
    tx_ref = await paid(chapa, transport)
    first = await chapa.refund(tx_ref, amount=Money(10_050, "ETB"), idempotency_key="r1")
    assert first.status is RefundStatus.succeeded
    assert (first.provider_payment_id, first.amount) == (tx_ref, Money(10_050, "ETB"))
    assert first.provider_refund_id.startswith("RF")
    with pytest.raises(ProviderNotSupported):
        await chapa.get_refund(first.provider_refund_id)
    with pytest.raises(ProviderDeclined):
        await chapa.refund(tx_ref, amount=Money(30_001, "ETB"), idempotency_key="r2")
    assert (await chapa.get_payment(tx_ref)).status is PaymentStatus.captured
    await chapa.refund(tx_ref, amount=Money(30_000, "ETB"), idempotency_key="r3", reason="x")
    refunded = await chapa.get_payment(tx_ref)
    assert (refunded.status, refunded.refunded_amount) == (PaymentStatus.refunded, 40_050)


async def test_webhook_signatures(chapa: ChapaConnector, transport: httpx.ASGITransport) -> None:
    tx_ref = await paid(chapa, transport)
    response = await hook(transport, "/_sandbox/webhooks", {"tx_ref": tx_ref, "secret_hash": HASH})
    assert response.status_code == 200, response.text
    signed = response.json()
    body, headers = signed["body"].encode(), signed["headers"]
    assert headers["x-chapa-signature"] == hmac.new(HASH.encode(), body, hashlib.sha256).hexdigest()
    assert (
        headers["chapa-signature"] == hmac.new(HASH.encode(), HASH.encode(), "sha256").hexdigest()
    )

    event = chapa.verify_webhook(headers=headers, body=body, secrets=(), url="")
    payload = json.loads(body)
    assert (event.event_type, event.object_type, event.object_id) == (
        "charge.success",
        "payment",
        tx_ref,
    )
    assert event.event_id == f"charge.success:{tx_ref}:success:{payload['updated_at']}"
    assert payload["amount"] == "400.50" and event.occurred_at is not None

    tampered = body.replace(b'"400.50"', b'"900.50"', 1)
    with pytest.raises(InvalidWebhookSignature):
        chapa.verify_webhook(headers=headers, body=tampered, secrets=(), url="")
    both = ("new-secret-hash", HASH)
    assert chapa.verify_webhook(headers=headers, body=body, secrets=both, url="").event_id
    body_only = {"X-Chapa-Signature": headers["x-chapa-signature"]}
    assert chapa.verify_webhook(headers=body_only, body=body, secrets=both, url="")
    # The static header alone binds nothing, so it is not enough.
    static_only = {"Chapa-Signature": headers["chapa-signature"]}
    with pytest.raises(InvalidWebhookSignature):
        chapa.verify_webhook(headers=static_only, body=body, secrets=(), url="")
    with pytest.raises(InvalidWebhookSignature):
        chapa.verify_webhook(headers={}, body=body, secrets=(), url="")
    with pytest.raises(InvalidWebhookSignature):
        chapa.verify_webhook(headers=headers, body=body, secrets=("other",), url="")


async def test_refund_webhook_event(chapa: ChapaConnector, transport: httpx.ASGITransport) -> None:
    tx_ref = await paid(chapa, transport)
    await chapa.refund(tx_ref, amount=Money(40_050, "ETB"), idempotency_key="r1")
    response = await hook(transport, "/_sandbox/webhooks", {"tx_ref": tx_ref, "secret_hash": HASH})
    signed = response.json()
    event = chapa.verify_webhook(
        headers=signed["headers"], body=signed["body"].encode(), secrets=(), url=""
    )
    assert (event.event_type, event.object_id) == ("charge.refunded", tx_ref)


def test_reference_from_idempotency_key() -> None:
    assert provider_reference("tenant 1/key") == provider_reference("tenant 1/key")
    assert provider_reference("tenant 1/key").startswith("mr-")
