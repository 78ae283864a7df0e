"""Chapa connector against the Chapa sandbox, in process."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from moneyrail.connectors._common import ProviderCredentialsRejected, ProviderObjectNotFound
from moneyrail.connectors.base import (
    CaptureMode,
    CreatePayment,
    Credentials,
    Customer,
    Environment,
    InvalidWebhookSignature,
    PaymentStatus,
    ProviderDeclined,
    ProviderNotSupported,
    ProviderTimeout,
    ProviderUnavailable,
    RefundStatus,
)
from moneyrail.connectors.chapa import ChapaConnector, provider_reference
from moneyrail.core.money import Money
from moneyrail.sandbox.app import create_sandbox_app
from tests.sandbox.helpers import faults
from tests.sandbox.helpers import hook as sandbox_hook

KEY = "CHASECK_TEST-3b9c2f4a1d0e"
HASH = "chapa-secret-hash"
PROVIDER = "chapa"
BASE = f"http://sandbox/{PROVIDER}"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def transport() -> httpx.ASGITransport:
    return httpx.ASGITransport(app=create_sandbox_app())


def connector(
    transport: httpx.AsyncBaseTransport, key: str = KEY, **kwargs: float
) -> ChapaConnector:
    credentials = Credentials("chapa", Environment.test, {"secret_key": key}, (HASH,))
    return ChapaConnector(credentials, base_url=BASE, transport=transport, **kwargs)


@pytest.fixture
async def chapa(transport: httpx.ASGITransport) -> AsyncIterator[ChapaConnector]:
    conn = connector(transport)
    yield conn
    await conn.aclose()


async def hook(transport: httpx.AsyncBaseTransport, path: str, body: object) -> httpx.Response:
    return await sandbox_hook(transport, PROVIDER, path, body, headers=AUTH)


async def checkout(transport: httpx.AsyncBaseTransport, url: str, outcome: str) -> None:
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.post(url, json={"outcome": outcome})
    assert response.status_code == 200, response.text


def request(key: str = "order-1001", amount: int = 40_050, **kwargs: Any) -> CreatePayment:
    return CreatePayment(
        reference="pay_01",
        amount=Money(amount, "ETB"),
        idempotency_key=key,
        customer=Customer(email="abebe@example.com", name="Abebe Bikila"),
        **kwargs,
    )


async def paid(chapa: ChapaConnector, transport: httpx.AsyncBaseTransport) -> str:
    payment = await chapa.create_payment(request())
    assert payment.next_action_url
    await checkout(transport, payment.next_action_url, "success")
    return payment.provider_payment_id


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


async def test_declined_checkout_fails(
    chapa: ChapaConnector, transport: httpx.ASGITransport
) -> None:
    payment = await chapa.create_payment(request())
    assert payment.next_action_url
    await checkout(transport, payment.next_action_url, "failed")
    assert (await chapa.get_payment("order-1001")).status is PaymentStatus.failed


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


async def test_retried_create_returns_the_same_transaction(chapa: ChapaConnector) -> None:
    first = await chapa.create_payment(request())
    again = await chapa.create_payment(request())
    assert again.provider_payment_id == first.provider_payment_id
    assert again.status is PaymentStatus.requires_action
    assert provider_reference("tenant 1/key") == provider_reference("tenant 1/key")
    assert provider_reference("tenant 1/key").startswith("mr-")


async def test_unknown_reference_bad_key_and_bad_currency(transport: httpx.ASGITransport) -> None:
    good, bad = connector(transport), connector(transport, key="CHAPUBK_TEST-public")
    with pytest.raises(ProviderObjectNotFound):
        await good.get_payment("nope")
    with pytest.raises(ProviderCredentialsRejected):
        await bad.create_payment(request())
    with pytest.raises(ProviderDeclined):
        await good.create_payment(
            CreatePayment(reference="pay_02", amount=Money(100, "EUR"), idempotency_key="o-3")
        )
    await good.aclose()
    await bad.aclose()


async def test_unavailable_is_retried_then_reported(
    chapa: ChapaConnector, transport: httpx.ASGITransport
) -> None:
    await faults(transport, PROVIDER, unavailable=1)
    assert (await chapa.create_payment(request())).status is PaymentStatus.requires_action
    await faults(transport, PROVIDER, unavailable=5)
    with pytest.raises(ProviderUnavailable):
        await chapa.create_payment(request("order-2"))


async def test_slow_answer_times_out(transport: httpx.ASGITransport) -> None:
    slow = connector(transport, timeout_seconds=0.1)
    await faults(transport, PROVIDER, slow=1, delay_seconds=3)
    with pytest.raises(ProviderTimeout):
        await slow.create_payment(request())
    await slow.aclose()


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
