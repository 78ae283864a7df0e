"""Razorpay connector against the Razorpay sandbox, in process."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from moneyrail.connectors.base import (
    CaptureMode,
    CreatePayment,
    CreatePlan,
    CreateSubscription,
    InvalidWebhookSignature,
    PaymentStatus,
    PlanInterval,
    ProviderDeclined,
    ProviderNotSupported,
    ProviderTimeout,
    ProviderUnavailable,
    RefundStatus,
    SubscriptionStatus,
)
from moneyrail.connectors.http import ProviderCredentialsRejected, ProviderObjectNotFound
from moneyrail.connectors.razorpay import RazorpayConnector, receipt_for
from moneyrail.core.money import Money
from tests.connectors.subscriptions import pause_resume_cancel
from tests.sandbox.helpers import credentials, faults, hook

KEY_ID = "rzp_test_1DP5mmOlF5G5ag"
KEY_SECRET = "thisisasecret"
WEBHOOK_SECRET = "whs_razorpay_primary"
BASE = "http://sandbox/razorpay"


def make(transport: httpx.AsyncBaseTransport, **kwargs: float) -> RazorpayConnector:
    creds = credentials(
        "razorpay", key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secrets=(WEBHOOK_SECRET,)
    )
    return RazorpayConnector(creds, base_url=BASE, transport=transport, **kwargs)


@pytest.fixture
async def razorpay(transport: httpx.ASGITransport) -> AsyncIterator[RazorpayConnector]:
    conn = make(transport)
    yield conn
    await conn.aclose()


def payment(
    amount: int = 50_000, *, capture: CaptureMode = CaptureMode.automatic, key: str = "idem-1"
) -> CreatePayment:
    return CreatePayment(
        reference="pay_ours", amount=Money(amount, "INR"), idempotency_key=key, capture=capture
    )


async def checkout(
    transport: httpx.ASGITransport, url: str | None, outcome: str = "succeed"
) -> dict[str, str]:
    assert url is not None
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.get(url, params={"outcome": outcome})
    return response.json()


async def test_automatic_capture_after_checkout(
    razorpay: RazorpayConnector, transport: httpx.ASGITransport
) -> None:
    created = await razorpay.create_payment(payment())
    assert created.status is PaymentStatus.requires_action
    assert created.provider_payment_id.startswith("order_")
    assert created.raw["payments"] == [] and created.raw["order"]["receipt"] == "idem-1"
    answer = await checkout(transport, created.next_action_url)
    expected = hmac.new(
        KEY_SECRET.encode(),
        f"{answer['razorpay_order_id']}|{answer['razorpay_payment_id']}".encode(),
        hashlib.sha256,
    ).hexdigest()
    assert answer["razorpay_signature"] == expected
    paid = await razorpay.get_payment(created.provider_payment_id)
    assert paid.status is PaymentStatus.captured and paid.captured_amount == 50_000
    assert paid.fee is not None
    assert (
        await razorpay.get_payment(answer["razorpay_payment_id"])
    ).status is PaymentStatus.captured


async def test_manual_capture(razorpay: RazorpayConnector, transport: httpx.ASGITransport) -> None:
    created = await razorpay.create_payment(payment(capture=CaptureMode.manual))
    await checkout(transport, created.next_action_url)
    assert (
        await razorpay.get_payment(created.provider_payment_id)
    ).status is PaymentStatus.authorized
    with pytest.raises(ProviderDeclined):
        await razorpay.capture(
            created.provider_payment_id, amount=Money(100, "INR"), idempotency_key="c0"
        )
    captured = await razorpay.capture(
        created.provider_payment_id, amount=None, idempotency_key="c1"
    )
    assert captured.status is PaymentStatus.captured
    again = await razorpay.capture(created.provider_payment_id, amount=None, idempotency_key="c1")
    assert again.status is PaymentStatus.captured
    with pytest.raises(ProviderNotSupported):
        await razorpay.cancel(created.provider_payment_id, idempotency_key="x")


async def test_failed_checkout_reads_as_failed(
    razorpay: RazorpayConnector, transport: httpx.ASGITransport
) -> None:
    created = await razorpay.create_payment(payment())
    await checkout(transport, created.next_action_url, outcome="fail")
    failed = await razorpay.get_payment(created.provider_payment_id)
    assert failed.status is PaymentStatus.failed and failed.next_action_url is not None


async def test_partial_then_full_refund_and_over_refund_declined(
    razorpay: RazorpayConnector, transport: httpx.ASGITransport
) -> None:
    created = await razorpay.create_payment(payment())
    await checkout(transport, created.next_action_url)
    oid = created.provider_payment_id
    first = await razorpay.refund(
        oid, amount=Money(20_000, "INR"), idempotency_key="r1", reason="customer asked"
    )
    assert first.status is RefundStatus.succeeded and first.provider_refund_id.startswith("rfnd_")
    assert (await razorpay.get_payment(oid)).status is PaymentStatus.partially_refunded
    with pytest.raises(ProviderDeclined):
        await razorpay.refund(oid, amount=Money(30_001, "INR"), idempotency_key="r2")
    await razorpay.refund(oid, amount=Money(30_000, "INR"), idempotency_key="r3")
    after = await razorpay.get_payment(oid)
    assert after.status is PaymentStatus.refunded and after.refunded_amount == 50_000
    fetched = await razorpay.get_refund(first.provider_refund_id)
    assert fetched.provider_payment_id == oid and fetched.amount == Money(20_000, "INR")


async def test_unavailable_create_is_retried_through_the_receipt(
    razorpay: RazorpayConnector, transport: httpx.ASGITransport
) -> None:
    await faults(transport, "razorpay", unavailable=1)
    created = await razorpay.create_payment(payment(key="k-503"))
    assert created.status is PaymentStatus.requires_action
    await faults(transport, "razorpay", unavailable=10)
    with pytest.raises(ProviderUnavailable):
        await razorpay.create_payment(payment(key="k-down"))


async def test_retry_after_an_order_was_made_does_not_make_a_second(
    razorpay: RazorpayConnector, transport: httpx.ASGITransport
) -> None:
    first = await razorpay.create_payment(payment(key="k-once"))
    # The next create answers 503 although it would succeed; the retry finds the first order.
    await faults(transport, "razorpay", unavailable=1)
    second = await razorpay.create_payment(payment(key="k-once"))
    assert second.provider_payment_id == first.provider_payment_id


async def test_slow_answer_is_a_timeout(transport: httpx.ASGITransport) -> None:
    conn = make(transport, timeout_seconds=0.1)
    await faults(transport, "razorpay", slow=1, delay_seconds=5)
    started = time.monotonic()
    with pytest.raises(ProviderTimeout):
        await conn.create_payment(payment(key="k-slow"))
    assert time.monotonic() - started < 2
    await conn.aclose()


async def test_bad_credentials_and_unknown_ids(
    transport: httpx.ASGITransport, razorpay: RazorpayConnector
) -> None:
    await razorpay.create_payment(payment())
    wrong = RazorpayConnector(
        credentials("razorpay", key_id=KEY_ID, key_secret="other"),
        base_url=BASE,
        transport=transport,
    )
    with pytest.raises(ProviderCredentialsRejected):
        await wrong.get_payment("order_missing")
    with pytest.raises(ProviderDeclined):
        await razorpay.get_payment("order_missing")
    assert not isinstance(ProviderDeclined(), ProviderObjectNotFound)
    assert len(receipt_for("k" * 80)) == 40


async def _signed(
    transport: httpx.ASGITransport, object_id: str, secret: str, event: str = "payment.captured"
) -> tuple[dict[str, str], bytes]:
    response = await hook(
        transport,
        "razorpay",
        "/_sandbox/webhooks",
        {"object_id": object_id, "event": event, "secret": secret},
    )
    assert response.status_code == 200, response.text
    data = response.json()
    return data["headers"], data["body"].encode()


async def test_webhook_verifies_and_tampering_is_refused(
    razorpay: RazorpayConnector, transport: httpx.ASGITransport
) -> None:
    created = await razorpay.create_payment(payment())
    answer = await checkout(transport, created.next_action_url)
    headers, body = await _signed(transport, answer["razorpay_payment_id"], WEBHOOK_SECRET)
    event = razorpay.verify_webhook(headers=headers, body=body, secrets=(WEBHOOK_SECRET,), url="")
    assert event.event_id == headers["X-Razorpay-Event-Id"]
    assert (event.event_type, event.object_type, event.object_id) == (
        "payment.captured",
        "payment",
        created.provider_payment_id,
    )
    tampered = body.replace(b'"amount": 50000', b'"amount": 50001')
    assert tampered != body
    with pytest.raises(InvalidWebhookSignature):
        razorpay.verify_webhook(headers=headers, body=tampered, secrets=(WEBHOOK_SECRET,), url="")
    with pytest.raises(InvalidWebhookSignature):
        razorpay.verify_webhook(headers={}, body=body, secrets=(WEBHOOK_SECRET,), url="")


async def test_rotation_accepts_both_secrets(
    razorpay: RazorpayConnector, transport: httpx.ASGITransport
) -> None:
    created = await razorpay.create_payment(payment())
    await checkout(transport, created.next_action_url)
    refund = await razorpay.refund(
        created.provider_payment_id, amount=Money(100, "INR"), idempotency_key="r"
    )
    for secret in ("old_secret", "new_secret"):
        headers, body = await _signed(
            transport, refund.provider_refund_id, secret, "refund.processed"
        )
        event = razorpay.verify_webhook(
            headers=headers, body=body, secrets=("old_secret", "new_secret"), url=""
        )
        assert event.object_type == "refund" and event.object_id == refund.provider_refund_id
        assert json.loads(body)["contains"] == ["refund", "payment"]
    headers, body = await _signed(transport, refund.provider_refund_id, "retired")
    with pytest.raises(InvalidWebhookSignature):
        razorpay.verify_webhook(
            headers=headers, body=body, secrets=("old_secret", "new_secret"), url=""
        )


async def test_subscription_lifecycle(
    razorpay: RazorpayConnector, transport: httpx.ASGITransport
) -> None:
    plan = await razorpay.create_plan(
        CreatePlan(
            name="Gold",
            amount=Money(49_900, "INR"),
            interval=PlanInterval.month,
            idempotency_key="p",
        )
    )
    assert plan.startswith("plan_")
    sub = await razorpay.create_subscription(
        CreateSubscription(reference="sub_ours", plan_id=plan, idempotency_key="s", total_count=12)
    )
    assert sub.status is SubscriptionStatus.requires_action and sub.next_action_url
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.get(sub.next_action_url)).status_code == 200
    sid = sub.provider_subscription_id
    active = await razorpay.get_subscription(sid)
    assert active.status is SubscriptionStatus.active and active.current_period_end is not None
    await pause_resume_cancel(razorpay, sid)
    with pytest.raises(ProviderDeclined):
        await razorpay.resume_subscription(sid, idempotency_key="4")
