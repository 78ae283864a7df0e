"""Stripe connector against the Stripe sandbox, in process."""

from __future__ import annotations

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
    Customer,
    InvalidWebhookSignature,
    PaymentStatus,
    PlanInterval,
    ProviderDeclined,
    ProviderTimeout,
    ProviderUnavailable,
    RefundStatus,
    SubscriptionStatus,
)
from moneyrail.connectors.http import ProviderCredentialsRejected, ProviderObjectNotFound
from moneyrail.connectors.stripe import StripeConnector
from moneyrail.connectors.stripe.webhooks import stripe_signature_header, verify_stripe
from moneyrail.core import limits
from moneyrail.core.money import Money
from tests.connectors.subscriptions import pause_resume_cancel
from tests.sandbox.helpers import credentials, faults, hook

KEY = "sk_test_51Hconnector"
SECRET = "whsec_primary"
BASE = "http://sandbox/stripe"


@pytest.fixture
async def stripe(transport: httpx.ASGITransport) -> AsyncIterator[StripeConnector]:
    conn = StripeConnector(
        credentials("stripe", secret_key=KEY, webhook_secrets=(SECRET,)),
        base_url=BASE,
        transport=transport,
    )
    yield conn
    await conn.aclose()


def payment(
    amount: int = 5000,
    *,
    capture: CaptureMode = CaptureMode.automatic,
    method: str | None = "pm_card_visa",
    key: str = "idem-1",
) -> CreatePayment:
    return CreatePayment(
        reference="pay_01",
        amount=Money(amount, "USD"),
        idempotency_key=key,
        capture=capture,
        customer=Customer(email="a@example.com"),
        payment_method=method,
    )


async def test_automatic_capture_reaches_captured(stripe: StripeConnector) -> None:
    created = await stripe.create_payment(payment())
    assert created.status is PaymentStatus.captured
    assert created.provider_payment_id.startswith("pi_")
    assert created.captured_amount == 5000
    fetched = await stripe.get_payment(created.provider_payment_id)
    assert fetched.status is PaymentStatus.captured
    assert fetched.raw["metadata"]["reference"] == "pay_01"


async def test_manual_capture_authorizes_then_captures_part(stripe: StripeConnector) -> None:
    created = await stripe.create_payment(payment(capture=CaptureMode.manual))
    assert created.status is PaymentStatus.authorized
    captured = await stripe.capture(
        created.provider_payment_id, amount=Money(3000, "USD"), idempotency_key="cap-1"
    )
    assert captured.status is PaymentStatus.captured
    assert captured.captured_amount == 3000


async def test_without_payment_method_the_customer_must_act(stripe: StripeConnector) -> None:
    created = await stripe.create_payment(payment(method=None))
    assert created.status is PaymentStatus.requires_action
    assert created.raw["client_secret"].startswith(created.provider_payment_id)
    cancelled = await stripe.cancel(created.provider_payment_id, idempotency_key="cancel-1")
    assert cancelled.status is PaymentStatus.cancelled


async def test_three_d_secure_gives_a_redirect_the_customer_completes(
    stripe: StripeConnector, transport: httpx.ASGITransport
) -> None:
    created = await stripe.create_payment(payment(method="pm_card_threeDSecure2Required"))
    assert created.status is PaymentStatus.requires_action
    assert created.next_action_url is not None
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.get(created.next_action_url)).status_code == 200
    assert (await stripe.get_payment(created.provider_payment_id)).status is PaymentStatus.captured


async def test_declined_card_is_declined_and_reads_as_failed(stripe: StripeConnector) -> None:
    with pytest.raises(ProviderDeclined) as caught:
        await stripe.create_payment(payment(method="pm_card_chargeDeclined"))
    assert caught.value.extra["provider_code"] == "generic_decline"
    intent_id = caught.value.extra.get("provider_status")
    assert intent_id == 402


async def test_partial_then_full_refund_and_over_refund_declined(stripe: StripeConnector) -> None:
    created = await stripe.create_payment(payment())
    pid = created.provider_payment_id
    first = await stripe.refund(pid, amount=Money(2000, "USD"), idempotency_key="r1")
    assert first.status is RefundStatus.succeeded and first.provider_payment_id == pid
    assert (await stripe.get_payment(pid)).status is PaymentStatus.partially_refunded
    with pytest.raises(ProviderDeclined) as caught:
        await stripe.refund(pid, amount=Money(3001, "USD"), idempotency_key="r2")
    assert caught.value.extra["provider_code"] == "amount_too_large"
    await stripe.refund(pid, amount=Money(3000, "USD"), idempotency_key="r3", reason="duplicate")
    after = await stripe.get_payment(pid)
    assert after.status is PaymentStatus.refunded and after.refunded_amount == 5000
    fetched = await stripe.get_refund(first.provider_refund_id)
    assert fetched.amount == Money(2000, "USD")


async def test_idempotency_key_replays_the_same_payment(stripe: StripeConnector) -> None:
    first = await stripe.create_payment(payment(key="same"))
    second = await stripe.create_payment(payment(key="same"))
    assert first.provider_payment_id == second.provider_payment_id
    with pytest.raises(ProviderDeclined):
        await stripe.create_payment(payment(amount=7000, key="same"))


async def test_unavailable_is_retried_then_reported(
    stripe: StripeConnector, transport: httpx.ASGITransport
) -> None:
    await faults(transport, "stripe", unavailable=1)
    assert (await stripe.create_payment(payment(key="k-retry"))).status is PaymentStatus.captured
    await faults(transport, "stripe", unavailable=10)
    with pytest.raises(ProviderUnavailable):
        await stripe.create_payment(payment(key="k-down"))


async def test_slow_answer_is_a_timeout(transport: httpx.ASGITransport) -> None:
    conn = StripeConnector(
        credentials("stripe", secret_key=KEY),
        base_url=BASE,
        transport=transport,
        timeout_seconds=0.1,
    )
    await faults(transport, "stripe", slow=1, delay_seconds=5, after=True)
    started = time.monotonic()
    with pytest.raises(ProviderTimeout):
        await conn.create_payment(payment(key="k-slow"))
    assert time.monotonic() - started < 2
    # The provider acted: polling finds the payment made under the same key.
    replay = await conn.create_payment(payment(key="k-slow"))
    assert replay.status is PaymentStatus.captured
    await conn.aclose()


async def test_bad_key_and_unknown_object(
    transport: httpx.ASGITransport, stripe: StripeConnector
) -> None:
    bad = StripeConnector(
        credentials("stripe", secret_key="sk_live_x"), base_url=BASE, transport=transport
    )
    with pytest.raises(ProviderCredentialsRejected):
        await bad.get_payment("pi_missing")
    with pytest.raises(ProviderObjectNotFound):
        await stripe.get_payment("pi_missing")


async def test_other_accounts_objects_are_invisible(
    transport: httpx.ASGITransport, stripe: StripeConnector
) -> None:
    created = await stripe.create_payment(payment())
    other = StripeConnector(
        credentials("stripe", secret_key="sk_test_other"), base_url=BASE, transport=transport
    )
    with pytest.raises(ProviderObjectNotFound):
        await other.get_payment(created.provider_payment_id)


async def _signed(
    transport: httpx.ASGITransport, object_id: str, **spec: object
) -> tuple[dict[str, str], bytes]:
    response = await hook(
        transport,
        "stripe",
        "/_sandbox/webhooks",
        {"object_id": object_id, "type": "payment_intent.succeeded", **spec},
    )
    assert response.status_code == 200, response.text
    data = response.json()
    return data["headers"], data["body"].encode()


async def test_webhook_verifies_and_tampering_is_refused(
    stripe: StripeConnector, transport: httpx.ASGITransport
) -> None:
    created = await stripe.create_payment(payment())
    headers, body = await _signed(transport, created.provider_payment_id, secret=SECRET)
    event = stripe.verify_webhook(headers=headers, body=body, secrets=(SECRET,), url="http://x")
    assert event.event_id.startswith("evt_")
    assert event.object_type == "payment" and event.object_id == created.provider_payment_id
    tampered = body.replace(b'"amount": 5000', b'"amount": 5001')
    assert tampered != body
    with pytest.raises(InvalidWebhookSignature):
        stripe.verify_webhook(headers=headers, body=tampered, secrets=(SECRET,), url="http://x")


async def test_stale_webhook_timestamp_is_refused(
    stripe: StripeConnector, transport: httpx.ASGITransport
) -> None:
    created = await stripe.create_payment(payment())
    headers, body = await _signed(
        transport, created.provider_payment_id, secret=SECRET, timestamp=int(time.time()) - 301
    )
    with pytest.raises(InvalidWebhookSignature):
        stripe.verify_webhook(headers=headers, body=body, secrets=(SECRET,), url="http://x")


async def test_future_webhook_timestamp_is_refused_like_a_stale_one(
    stripe: StripeConnector, transport: httpx.ASGITransport
) -> None:
    created = await stripe.create_payment(payment())
    headers, body = await _signed(
        transport, created.provider_payment_id, secret=SECRET, timestamp=int(time.time()) + 600
    )
    with pytest.raises(InvalidWebhookSignature, match="tolerance"):
        stripe.verify_webhook(headers=headers, body=body, secrets=(SECRET,), url="http://x")


def test_stripe_tolerance_is_symmetric() -> None:
    body = b'{"id": "evt_1"}'
    now = 1_700_000_000
    tolerance = limits.stripe_webhook_tolerance_seconds
    for skew in (-tolerance, 0, tolerance):
        header = stripe_signature_header(body, [SECRET], now + skew)
        assert verify_stripe(header=header, body=body, secrets=[SECRET], now=now) == now + skew
    for skew in (-tolerance - 1, tolerance + 1, 600):
        header = stripe_signature_header(body, [SECRET], now + skew)
        with pytest.raises(InvalidWebhookSignature, match="tolerance"):
            verify_stripe(header=header, body=body, secrets=[SECRET], now=now)


async def test_rotation_accepts_old_and_new_secrets(
    stripe: StripeConnector, transport: httpx.ASGITransport
) -> None:
    created = await stripe.create_payment(payment())
    for signer in ("whsec_old", "whsec_new"):
        headers, body = await _signed(transport, created.provider_payment_id, secret=signer)
        stripe.verify_webhook(
            headers=headers, body=body, secrets=("whsec_old", "whsec_new"), url=""
        )
    headers, body = await _signed(transport, created.provider_payment_id, secret="whsec_gone")
    with pytest.raises(InvalidWebhookSignature):
        stripe.verify_webhook(
            headers=headers, body=body, secrets=("whsec_old", "whsec_new"), url=""
        )
    # Stripe signs with every active secret during its own rotation: one v1 per secret.
    headers, body = await _signed(
        transport, created.provider_payment_id, secrets=["whsec_a", "whsec_new"]
    )
    assert headers["Stripe-Signature"].count("v1=") == 2
    stripe.verify_webhook(headers=headers, body=body, secrets=("whsec_new",), url="")
    assert json.loads(body)["type"] == "payment_intent.succeeded"


async def test_subscription_lifecycle(stripe: StripeConnector) -> None:
    price = await stripe.create_plan(
        CreatePlan(
            name="Pro",
            amount=Money(1500, "USD"),
            interval=PlanInterval.month,
            idempotency_key="plan-1",
        )
    )
    assert price.startswith("price_")
    sub = await stripe.create_subscription(
        CreateSubscription(
            reference="sub_ours",
            plan_id=price,
            idempotency_key="sub-1",
            customer=Customer(email="s@example.com"),
            payment_method="pm_card_visa",
        )
    )
    assert sub.status is SubscriptionStatus.active and sub.plan_id == price
    assert sub.current_period_end is not None
    sid = sub.provider_subscription_id
    await pause_resume_cancel(stripe, sid)


async def test_subscription_without_payment_method_is_incomplete(
    stripe: StripeConnector, transport: httpx.ASGITransport
) -> None:
    price = await stripe.create_plan(
        CreatePlan(
            name="Basic",
            amount=Money(500, "USD"),
            interval=PlanInterval.week,
            idempotency_key="plan-2",
        )
    )
    sub = await stripe.create_subscription(
        CreateSubscription(reference="sub_2", plan_id=price, idempotency_key="sub-2")
    )
    assert sub.status is SubscriptionStatus.requires_action
    await hook(
        transport, "stripe", f"/_sandbox/subscriptions/{sub.provider_subscription_id}/activate"
    )
    assert (
        await stripe.get_subscription(sub.provider_subscription_id)
    ).status is SubscriptionStatus.active
