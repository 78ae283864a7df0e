"""Flutterwave connector against the Flutterwave sandbox, in process."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from decimal import Decimal

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
from moneyrail.connectors.flutterwave import FlutterwaveConnector, dumps, loads
from moneyrail.connectors.http import ProviderObjectNotFound
from moneyrail.core.money import Money
from tests.connectors.hosted import FLUTTERWAVE, checkout

P = FLUTTERWAVE
HASH = P.webhook_secrets[0]
connector = P.connector
request = P.request
hook = P.hook
paid = P.paid


@pytest.fixture
async def flutterwave(transport: httpx.ASGITransport) -> AsyncIterator[FlutterwaveConnector]:
    conn = connector(transport)
    yield conn
    await conn.aclose()


def test_decimal_json_is_exact() -> None:
    body = dumps({"amount": Decimal("10500.50"), "tiny": Decimal("0.10"), "name": "a@b"})
    assert body == b'{"amount":10500.50,"tiny":0.10,"name":"a@b"}'
    assert loads(body)["amount"] == Decimal("10500.50")
    assert dumps({"note": '"@x:0@"'}) == b'{"note":"\\"@x:0@\\""}'


async def test_hosted_checkout_captures(
    flutterwave: FlutterwaveConnector, transport: httpx.ASGITransport
) -> None:
    payment = await flutterwave.create_payment(request())
    assert payment.status is PaymentStatus.requires_action
    assert payment.provider_payment_id == "order-1001"
    assert payment.next_action_url and "/_sandbox/checkout/" in payment.next_action_url
    # No transaction exists at Flutterwave until the customer pays on the hosted page.
    with pytest.raises(ProviderObjectNotFound):
        await flutterwave.get_payment("order-1001")

    await checkout(transport, payment.next_action_url, "success")
    captured = await flutterwave.get_payment("order-1001")
    assert captured.status is PaymentStatus.captured
    assert captured.amount == Money(1_050_050, "NGN")  # sent and read back as 10500.50
    assert captured.raw["amount"] == Decimal("10500.50")
    assert captured.fee == 14_701  # 1.4% of 10500.50, to the kobo
    assert captured.raw["meta"] == {"moneyrail_payment_id": "pay_01"}
    assert await flutterwave.capture("order-1001", amount=None, idempotency_key="c1") == captured
    with pytest.raises(ProviderNotSupported):
        await flutterwave.create_payment(request("order-2", capture=CaptureMode.manual))
    with pytest.raises(ProviderNotSupported):
        await flutterwave.cancel("order-1001", idempotency_key="x1")


async def test_partial_then_full_refund_and_over_refund(
    flutterwave: FlutterwaveConnector, transport: httpx.ASGITransport
) -> None:
    tx_ref = await paid(flutterwave, transport)
    first = await flutterwave.refund(tx_ref, amount=Money(50_025, "NGN"), idempotency_key="r1")
    assert first.status is RefundStatus.succeeded
    assert (first.provider_payment_id, first.amount) == (tx_ref, Money(50_025, "NGN"))
    fetched = await flutterwave.get_refund(first.provider_refund_id)
    assert (fetched.provider_payment_id, fetched.amount) == (tx_ref, first.amount)

    with pytest.raises(ProviderDeclined):
        await flutterwave.refund(tx_ref, amount=Money(1_000_026, "NGN"), idempotency_key="r2")
    with pytest.raises(ProviderDeclined):
        await flutterwave.refund(tx_ref, amount=Money(100, "USD"), idempotency_key="r3")
    rest = await flutterwave.refund(tx_ref, amount=Money(1_000_025, "NGN"), idempotency_key="r4")
    assert rest.amount == Money(1_000_025, "NGN")
    with pytest.raises(ProviderDeclined):
        await flutterwave.refund(tx_ref, amount=Money(1, "NGN"), idempotency_key="r5")


async def test_refunds_are_listed_and_reported_on_the_payment(
    flutterwave: FlutterwaveConnector, transport: httpx.ASGITransport
) -> None:
    """The transaction carries no refunded amount: `get_payment` reads the transaction's
    refunds (`GET /v3/refunds?id=`, every page) and reports their sum."""
    tx_ref = await paid(flutterwave, transport)
    second = await flutterwave.create_payment(request("order-other"))
    assert second.next_action_url
    await checkout(transport, second.next_action_url, "success")
    other = second.provider_payment_id
    await flutterwave.refund(other, amount=Money(700, "NGN"), idempotency_key="o1")
    assert (await flutterwave.get_payment(tx_ref)).refunded_amount == 0
    assert await flutterwave.refunds_of(tx_ref) == []
    # More refunds than one page of the list holds (ten a page in the sandbox).
    made = [
        await flutterwave.refund(tx_ref, amount=Money(100 + i, "NGN"), idempotency_key=f"r{i}")
        for i in range(12)
    ]
    listed = await flutterwave.refunds_of(tx_ref)
    assert sorted(r.provider_refund_id for r in listed) == sorted(
        r.provider_refund_id for r in made
    )
    assert {r.provider_payment_id for r in listed} == {tx_ref}
    found = await flutterwave.get_payment(tx_ref)
    assert found.status is PaymentStatus.partially_refunded
    assert found.captured_amount == 1_050_050
    assert found.refunded_amount == sum(100 + i for i in range(12))
    rest = 1_050_050 - found.refunded_amount
    await flutterwave.refund(tx_ref, amount=Money(rest, "NGN"), idempotency_key="last")
    refunded = await flutterwave.get_payment(tx_ref)
    assert (refunded.status, refunded.refunded_amount) == (PaymentStatus.refunded, 1_050_050)
    assert (await flutterwave.get_payment(other)).refunded_amount == 700


async def test_webhook_signatures(
    flutterwave: FlutterwaveConnector, transport: httpx.ASGITransport
) -> None:
    tx_ref = await paid(flutterwave, transport)
    response = await hook(transport, "/_sandbox/webhooks", {"tx_ref": tx_ref, "secret_hash": HASH})
    assert response.status_code == 200, response.text
    signed = response.json()
    body, headers = signed["body"].encode(), signed["headers"]
    expected = base64.b64encode(hmac.new(HASH.encode(), body, hashlib.sha256).digest()).decode()
    assert headers["flutterwave-signature"] == expected
    assert headers["verif-hash"] == HASH

    event = flutterwave.verify_webhook(headers=headers, body=body, secrets=(), url="")
    data = json.loads(body)["data"]
    assert event.event_type == "charge.completed"
    assert event.object_type == "payment" and event.object_id == tx_ref
    assert event.event_id == f"charge.completed:{data['id']}:successful"
    assert event.occurred_at is not None

    tampered = body.replace(b'"successful"', b'"succeszful"', 1)
    with pytest.raises(InvalidWebhookSignature):
        flutterwave.verify_webhook(headers=headers, body=tampered, secrets=(), url="")
    # Rotation: the new and the old secret hash both verify.
    both = ("new-secret-hash", HASH)
    assert flutterwave.verify_webhook(headers=headers, body=body, secrets=both, url="").event_id
    # The legacy header alone is the secret hash itself; one byte off is refused.
    legacy = {"verif-hash": HASH}
    assert flutterwave.verify_webhook(headers=legacy, body=body, secrets=both, url="")
    with pytest.raises(InvalidWebhookSignature):
        flutterwave.verify_webhook(
            headers={"verif-hash": HASH[:-1] + "2"}, body=body, secrets=both, url=""
        )
    # Unsigned, or signed with a hash we do not hold.
    with pytest.raises(InvalidWebhookSignature):
        flutterwave.verify_webhook(headers={}, body=body, secrets=(), url="")
    with pytest.raises(InvalidWebhookSignature):
        flutterwave.verify_webhook(headers=headers, body=body, secrets=("other",), url="")


async def test_refund_webhook_event(
    flutterwave: FlutterwaveConnector, transport: httpx.ASGITransport
) -> None:
    await hook(transport, "/_sandbox/settings", {"secret_hash": HASH})
    tx_ref = await paid(flutterwave, transport)
    refund = await flutterwave.refund(tx_ref, amount=Money(1_050_050, "NGN"), idempotency_key="r")
    signed = (
        await hook(transport, "/_sandbox/webhooks", {"refund_id": refund.provider_refund_id})
    ).json()
    event = flutterwave.verify_webhook(
        headers=signed["headers"], body=signed["body"].encode(), secrets=(), url=""
    )
    assert event.object_type == "refund" and event.object_id == refund.provider_refund_id
