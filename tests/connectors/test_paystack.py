"""Paystack connector against the Paystack sandbox, in process."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from moneyrail.connectors.base import (
    CaptureMode,
    CreatePlan,
    CreateSubscription,
    Customer,
    InvalidWebhookSignature,
    PaymentStatus,
    PlanInterval,
    ProviderDeclined,
    ProviderNotSupported,
    RefundStatus,
    SubscriptionStatus,
)
from moneyrail.connectors.paystack import PaystackConnector, provider_reference
from moneyrail.core.money import Money
from tests.connectors.hosted import PAYSTACK, checkout

P = PAYSTACK
KEY = P.key
connector = P.connector
request = P.request
hook = P.hook
paid = P.paid


@pytest.fixture
async def paystack(transport: httpx.ASGITransport) -> AsyncIterator[PaystackConnector]:
    conn = connector(transport)
    yield conn
    await conn.aclose()


async def test_hosted_checkout_captures(
    paystack: PaystackConnector, transport: httpx.ASGITransport
) -> None:
    payment = await paystack.create_payment(request())
    assert payment.status is PaymentStatus.requires_action
    assert payment.provider_payment_id == "order-1001"
    assert payment.next_action_url and "/_sandbox/checkout/" in payment.next_action_url
    assert (await paystack.get_payment("order-1001")).status is PaymentStatus.requires_action

    await checkout(transport, payment.next_action_url, "success")
    captured = await paystack.get_payment("order-1001")
    assert captured.status is PaymentStatus.captured
    assert captured.amount == Money(50_000, "NGN")
    assert captured.captured_amount == 50_000
    assert captured.fee is not None and captured.fee > 0
    assert captured.raw["metadata"] == {"moneyrail_payment_id": "pay_01"}
    # Already captured: capture answers with the payment; a manual capture is refused.
    assert (await paystack.capture("order-1001", amount=None, idempotency_key="c1")) == captured
    with pytest.raises(ProviderNotSupported):
        await paystack.create_payment(request("order-2", capture=CaptureMode.manual))
    with pytest.raises(ProviderNotSupported):
        await paystack.cancel("order-1001", idempotency_key="x1")


async def test_partial_then_full_refund_and_over_refund(
    paystack: PaystackConnector, transport: httpx.ASGITransport
) -> None:
    reference = await paid(paystack, transport)
    first = await paystack.refund(reference, amount=Money(20_000, "NGN"), idempotency_key="r1")
    assert first.status is RefundStatus.pending
    assert first.provider_payment_id == reference
    assert first.amount == Money(20_000, "NGN")
    fetched = await paystack.get_refund(first.provider_refund_id)
    assert fetched.status is RefundStatus.succeeded
    assert fetched.provider_payment_id == reference

    with pytest.raises(ProviderDeclined):
        await paystack.refund(reference, amount=Money(30_001, "NGN"), idempotency_key="r2")
    assert (await paystack.get_payment(reference)).status is PaymentStatus.captured

    await paystack.refund(reference, amount=Money(30_000, "NGN"), idempotency_key="r3")
    refunded = await paystack.get_payment(reference)
    assert refunded.status is PaymentStatus.refunded
    assert refunded.refunded_amount == 50_000


def test_reference_from_idempotency_key() -> None:
    assert provider_reference("order-1001") == "order-1001"
    derived = provider_reference("tenant_1:key with spaces")
    assert derived == provider_reference("tenant_1:key with spaces")
    assert derived.startswith("mr-") and all(c.isalnum() or c in "-.=" for c in derived)


async def signed_webhook(transport: httpx.AsyncBaseTransport, reference: str) -> httpx.Response:
    response = await hook(transport, "/_sandbox/webhooks", {"reference": reference})
    assert response.status_code == 200, response.text
    return response


async def test_webhook_signature(
    paystack: PaystackConnector, transport: httpx.ASGITransport
) -> None:
    reference = await paid(paystack, transport)
    signed = (await signed_webhook(transport, reference)).json()
    body = signed["body"].encode()
    headers = signed["headers"]
    assert (
        headers["x-paystack-signature"] == hmac.new(KEY.encode(), body, hashlib.sha512).hexdigest()
    )

    event = paystack.verify_webhook(headers=headers, body=body, secrets=(), url="")
    assert event.event_type == "charge.success"
    assert event.object_type == "payment" and event.object_id == reference
    data = json.loads(body)["data"]
    assert event.event_id == f"charge.success:{data['id']}:success"
    assert event.occurred_at is not None

    # One byte changed in the body, or in the signature.
    tampered = body.replace(b'"success"', b'"sUccess"', 1)
    with pytest.raises(InvalidWebhookSignature):
        paystack.verify_webhook(headers=headers, body=tampered, secrets=(), url="")
    flipped = {
        "X-Paystack-Signature": ("0" if headers["x-paystack-signature"][0] != "0" else "1")
        + headers["x-paystack-signature"][1:]
    }
    with pytest.raises(InvalidWebhookSignature):
        paystack.verify_webhook(headers=flipped, body=body, secrets=(), url="")
    # During a key rotation both the old and the new key verify.
    assert (
        paystack.verify_webhook(
            headers=headers, body=body, secrets=("sk_test_newkey", KEY), url=""
        ).event_id
        == event.event_id
    )
    new_sig = hmac.new(b"sk_test_newkey", body, hashlib.sha512).hexdigest()
    assert (
        paystack.verify_webhook(
            headers={"x-paystack-signature": new_sig},
            body=body,
            secrets=("sk_test_newkey", KEY),
            url="",
        ).event_type
        == "charge.success"
    )
    # Unsigned, or signed with a key we do not hold.
    with pytest.raises(InvalidWebhookSignature):
        paystack.verify_webhook(headers={}, body=body, secrets=(), url="")
    with pytest.raises(InvalidWebhookSignature):
        paystack.verify_webhook(
            headers={"x-paystack-signature": new_sig}, body=body, secrets=(), url=""
        )


async def test_refund_webhook_event(
    paystack: PaystackConnector, transport: httpx.ASGITransport
) -> None:
    reference = await paid(paystack, transport)
    refund = await paystack.refund(reference, amount=Money(50_000, "NGN"), idempotency_key="r1")
    response = await hook(transport, "/_sandbox/webhooks", {"refund_id": refund.provider_refund_id})
    signed = response.json()
    event = paystack.verify_webhook(
        headers=signed["headers"], body=signed["body"].encode(), secrets=(), url=""
    )
    assert event.event_type == "refund.processed"
    assert event.object_type == "refund" and event.object_id == refund.provider_refund_id
    assert event.event_id == f"refund.processed:{refund.provider_refund_id}:processed"


async def test_plans_and_subscriptions(
    paystack: PaystackConnector, transport: httpx.ASGITransport
) -> None:
    plan = await paystack.create_plan(
        CreatePlan(
            name="Gold",
            amount=Money(500_000, "NGN"),
            interval=PlanInterval.month,
            idempotency_key="plan-1",
        )
    )
    assert plan.startswith("PLN_")
    with pytest.raises(ProviderNotSupported):
        await paystack.create_plan(
            CreatePlan("Odd", Money(100, "NGN"), PlanInterval.week, "plan-2", interval_count=2)
        )
    subscribe = CreateSubscription(
        reference="sub_01",
        plan_id=plan,
        idempotency_key="s-1",
        customer=Customer(email="ada@example.com"),
    )
    with pytest.raises(ProviderDeclined):  # no saved card yet
        await paystack.create_subscription(subscribe)
    await paid(paystack, transport)  # the customer pays once, saving the card

    sub = await paystack.create_subscription(subscribe)
    assert sub.status is SubscriptionStatus.active
    assert sub.plan_id == plan and sub.provider_subscription_id.startswith("SUB_")
    assert sub.current_period_end is not None
    assert await paystack.get_subscription(sub.provider_subscription_id) == sub

    code = sub.provider_subscription_id
    cancelled = await paystack.cancel_subscription(code, idempotency_key="c1")
    assert cancelled.status is SubscriptionStatus.cancelled
    assert (await paystack.cancel_subscription(code, idempotency_key="c1")).status is (
        SubscriptionStatus.cancelled
    )
    with pytest.raises(ProviderNotSupported):
        await paystack.pause_subscription(code, idempotency_key="p1")
    resumed = await paystack.resume_subscription(code, idempotency_key="r1")
    assert resumed.status is SubscriptionStatus.active
