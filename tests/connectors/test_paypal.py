"""PayPal connector against the PayPal sandbox, in process."""

from __future__ import annotations

import base64
import json
import time
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

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
    ProviderNotSupported,
    ProviderTimeout,
    ProviderUnavailable,
    RefundStatus,
    SubscriptionStatus,
)
from moneyrail.connectors.http import ProviderCredentialsRejected, ProviderObjectNotFound
from moneyrail.connectors.paypal import PayPalConnector, value_of
from moneyrail.core.money import Money
from tests.connectors.subscriptions import pause_resume_cancel
from tests.sandbox.helpers import credentials, faults, hook

CLIENT_ID = "AVsandboxClientId"
CLIENT_SECRET = "EKsandboxSecret"
WEBHOOK_ID = "8PT597110X687430LKGECATA"
BASE = "http://sandbox/paypal"


def make(
    transport: httpx.AsyncBaseTransport, secret: str = CLIENT_SECRET, **kwargs: float
) -> PayPalConnector:
    creds = credentials(
        "paypal", client_id=CLIENT_ID, client_secret=secret, webhook_secrets=(WEBHOOK_ID,)
    )
    return PayPalConnector(creds, base_url=BASE, transport=transport, **kwargs)


@pytest.fixture
async def paypal(transport: httpx.ASGITransport) -> AsyncIterator[PayPalConnector]:
    conn = make(transport)
    yield conn
    await conn.aclose()


def payment(
    amount: int = 10_050, *, capture: CaptureMode = CaptureMode.automatic, key: str = "idem-1"
) -> CreatePayment:
    return CreatePayment(
        reference="pay_ours",
        amount=Money(amount, "USD"),
        idempotency_key=key,
        capture=capture,
        description="Order 1",
    )


async def approve(
    transport: httpx.ASGITransport, url: str | None, outcome: str = "approve"
) -> None:
    assert url is not None
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.get(f"{url}&outcome={outcome}")
    assert response.status_code == 200, response.text


async def test_order_approved_then_captured(
    paypal: PayPalConnector, transport: httpx.ASGITransport
) -> None:
    created = await paypal.create_payment(payment())
    assert created.status is PaymentStatus.requires_action
    assert created.raw["purchase_units"][0]["amount"] == {"currency_code": "USD", "value": "100.50"}
    await approve(transport, created.next_action_url)
    assert (
        await paypal.get_payment(created.provider_payment_id)
    ).status is PaymentStatus.authorized
    captured = await paypal.capture(created.provider_payment_id, amount=None, idempotency_key="cap")
    assert captured.status is PaymentStatus.captured and captured.captured_amount == 10_050
    assert captured.fee is not None and captured.fee > 0
    again = await paypal.capture(created.provider_payment_id, amount=None, idempotency_key="cap")
    assert again.status is PaymentStatus.captured


async def test_capture_before_approval_is_declined(paypal: PayPalConnector) -> None:
    created = await paypal.create_payment(payment())
    with pytest.raises(ProviderDeclined) as caught:
        await paypal.capture(created.provider_payment_id, amount=None, idempotency_key="c")
    assert caught.value.extra["provider_code"] == "ORDER_NOT_APPROVED"


async def test_declined_instrument(paypal: PayPalConnector, transport: httpx.ASGITransport) -> None:
    created = await paypal.create_payment(payment())
    await approve(transport, created.next_action_url, "decline")
    with pytest.raises(ProviderDeclined) as caught:
        await paypal.capture(created.provider_payment_id, amount=None, idempotency_key="c")
    assert caught.value.extra["provider_code"] == "INSTRUMENT_DECLINED"


async def test_manual_capture_authorizes_then_captures_part(
    paypal: PayPalConnector, transport: httpx.ASGITransport
) -> None:
    created = await paypal.create_payment(payment(capture=CaptureMode.manual))
    assert created.raw["intent"] == "AUTHORIZE"
    await approve(transport, created.next_action_url)
    captured = await paypal.capture(
        created.provider_payment_id, amount=Money(6000, "USD"), idempotency_key="c1"
    )
    assert captured.status is PaymentStatus.captured and captured.captured_amount == 6000


async def test_void_an_authorization(
    paypal: PayPalConnector, transport: httpx.ASGITransport
) -> None:
    created = await paypal.create_payment(payment(capture=CaptureMode.manual))
    with pytest.raises(ProviderNotSupported):
        await paypal.cancel(created.provider_payment_id, idempotency_key="v0")
    await approve(transport, created.next_action_url)
    # Authorize without capturing: a capture of an approved AUTHORIZE order authorizes first.
    pid = created.provider_payment_id
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        token = (
            await client.post(
                "/v1/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(CLIENT_ID, CLIENT_SECRET),
            )
        ).json()["access_token"]
        await client.post(
            f"/v2/checkout/orders/{pid}/authorize",
            json={},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert (await paypal.get_payment(pid)).status is PaymentStatus.authorized
    assert (await paypal.cancel(pid, idempotency_key="v1")).status is PaymentStatus.cancelled


async def test_partial_then_full_refund_and_over_refund_declined(
    paypal: PayPalConnector, transport: httpx.ASGITransport
) -> None:
    created = await paypal.create_payment(payment())
    await approve(transport, created.next_action_url)
    pid = created.provider_payment_id
    await paypal.capture(pid, amount=None, idempotency_key="cap")
    first = await paypal.refund(
        pid, amount=Money(4000, "USD"), idempotency_key="r1", reason="damaged"
    )
    assert first.status is RefundStatus.succeeded and first.provider_payment_id == pid
    assert (await paypal.get_payment(pid)).status is PaymentStatus.partially_refunded
    with pytest.raises(ProviderDeclined) as caught:
        await paypal.refund(pid, amount=Money(6051, "USD"), idempotency_key="r2")
    assert caught.value.extra["provider_code"] == "REFUND_AMOUNT_EXCEEDED"
    await paypal.refund(pid, amount=Money(6050, "USD"), idempotency_key="r3")
    after = await paypal.get_payment(pid)
    assert after.status is PaymentStatus.refunded and after.refunded_amount == 10_050
    fetched = await paypal.get_refund(first.provider_refund_id)
    assert fetched.provider_payment_id == pid and fetched.amount == Money(4000, "USD")


async def test_request_id_replays(paypal: PayPalConnector) -> None:
    first = await paypal.create_payment(payment(key="same"))
    second = await paypal.create_payment(payment(key="same"))
    assert first.provider_payment_id == second.provider_payment_id


async def test_unavailable_is_retried_then_reported(
    paypal: PayPalConnector, transport: httpx.ASGITransport
) -> None:
    await paypal.get_payment((await paypal.create_payment(payment(key="warm"))).provider_payment_id)
    await faults(transport, "paypal", unavailable=1)
    assert (
        await paypal.create_payment(payment(key="k-503"))
    ).status is PaymentStatus.requires_action
    await faults(transport, "paypal", unavailable=10)
    with pytest.raises(ProviderUnavailable):
        await paypal.create_payment(payment(key="k-down"))


async def test_slow_answer_is_a_timeout(transport: httpx.ASGITransport) -> None:
    conn = make(transport, timeout_seconds=0.1)
    await conn.create_payment(payment(key="warm"))
    await faults(transport, "paypal", slow=1, delay_seconds=5)
    started = time.monotonic()
    with pytest.raises(ProviderTimeout):
        await conn.create_payment(payment(key="k-slow"))
    assert time.monotonic() - started < 2
    await conn.aclose()


async def test_bad_credentials_and_unknown_order(
    transport: httpx.ASGITransport, paypal: PayPalConnector
) -> None:
    await paypal.create_payment(payment())
    with pytest.raises(ProviderCredentialsRejected):
        await make(transport, secret="wrong").get_payment("NOPE")
    with pytest.raises(ProviderObjectNotFound):
        await paypal.get_payment("5O190127TN364715T")


def test_amount_strings() -> None:
    assert value_of(Money(10_050, "USD")) == "100.50"
    assert value_of(Money(500, "JPY")) == "500"
    assert value_of(Money(120_000, "HUF")) == "1200"
    with pytest.raises(ProviderDeclined):
        value_of(Money(120_050, "HUF"))


async def _signed(
    transport: httpx.ASGITransport,
    object_id: str,
    webhook_id: str = WEBHOOK_ID,
    event_type: str = "PAYMENT.CAPTURE.COMPLETED",
) -> tuple[dict[str, str], bytes]:
    response = await hook(
        transport,
        "paypal",
        "/_sandbox/webhooks",
        {"object_id": object_id, "event_type": event_type, "webhook_id": webhook_id},
    )
    assert response.status_code == 200, response.text
    data = response.json()
    return data["headers"], data["body"].encode()


async def _captured(paypal: PayPalConnector, transport: httpx.ASGITransport) -> tuple[str, str]:
    created = await paypal.create_payment(payment())
    await approve(transport, created.next_action_url)
    done = await paypal.capture(created.provider_payment_id, amount=None, idempotency_key="cap")
    return created.provider_payment_id, done.raw["purchase_units"][0]["payments"]["captures"][0][
        "id"
    ]


async def test_webhook_verifies_offline_and_tampering_is_refused(
    paypal: PayPalConnector, transport: httpx.ASGITransport
) -> None:
    order_id, capture_id = await _captured(paypal, transport)
    headers, body = await _signed(transport, capture_id)
    with pytest.raises(ProviderNotSupported):
        paypal.verify_webhook(headers=headers, body=body, secrets=(WEBHOOK_ID,), url="")
    event = await paypal.verify_webhook_async(
        headers=headers, body=body, secrets=(WEBHOOK_ID,), url=""
    )
    assert event.event_id.startswith("WH-") and event.event_type == "PAYMENT.CAPTURE.COMPLETED"
    assert (event.object_type, event.object_id) == ("payment", order_id)
    # Once the certificate is cached the synchronous protocol method works too.
    assert (
        paypal.verify_webhook(headers=headers, body=body, secrets=(WEBHOOK_ID,), url="").event_id
        == event.event_id
    )
    tampered = body.replace(b'"value":"100.50"', b'"value":"100.51"', 1)
    assert tampered != body
    with pytest.raises(InvalidWebhookSignature):
        await paypal.verify_webhook_async(
            headers=headers, body=tampered, secrets=(WEBHOOK_ID,), url=""
        )


async def test_webhook_signature_is_paypals_scheme(
    paypal: PayPalConnector, transport: httpx.ASGITransport
) -> None:
    """An independent check of the sandbox's signature: RSA-SHA256 over PayPal's message."""
    _, capture_id = await _captured(paypal, transport)
    headers, body = await _signed(transport, capture_id)
    async with httpx.AsyncClient(transport=transport) as client:
        pem = (await client.get(headers["PAYPAL-CERT-URL"])).content
    key = x509.load_pem_x509_certificate(pem).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    message = f"{headers['PAYPAL-TRANSMISSION-ID']}|{headers['PAYPAL-TRANSMISSION-TIME']}|{WEBHOOK_ID}|{zlib.crc32(body)}".encode()
    key.verify(
        base64.b64decode(headers["PAYPAL-TRANSMISSION-SIG"]),
        message,
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


async def test_rotation_accepts_both_webhook_ids(
    paypal: PayPalConnector, transport: httpx.ASGITransport
) -> None:
    _, capture_id = await _captured(paypal, transport)
    for webhook_id in ("WH-OLD", "WH-NEW"):
        headers, body = await _signed(transport, capture_id, webhook_id)
        await paypal.verify_webhook_async(
            headers=headers, body=body, secrets=("WH-OLD", "WH-NEW"), url=""
        )
    headers, body = await _signed(transport, capture_id, "WH-GONE")
    with pytest.raises(InvalidWebhookSignature):
        await paypal.verify_webhook_async(
            headers=headers, body=body, secrets=("WH-OLD", "WH-NEW"), url=""
        )


async def test_webhook_cert_url_must_be_paypals(
    paypal: PayPalConnector, transport: httpx.ASGITransport
) -> None:
    _, capture_id = await _captured(paypal, transport)
    headers, body = await _signed(transport, capture_id)
    for forged in (
        "http://evil.example/cert.pem",
        "http://paypal.com.evil.example/x",
        "http://api.paypal.com/v1/notifications/certs/X",
    ):
        with pytest.raises(InvalidWebhookSignature):
            await paypal.verify_webhook_async(
                headers={**headers, "PAYPAL-CERT-URL": forged},
                body=body,
                secrets=(WEBHOOK_ID,),
                url="",
            )


async def test_webhook_verified_by_the_api(
    paypal: PayPalConnector, transport: httpx.ASGITransport
) -> None:
    order_id, _ = await _captured(paypal, transport)
    headers, body = await _signed(transport, order_id, event_type="CHECKOUT.ORDER.COMPLETED")
    event = await paypal.verify_webhook_with_api(
        headers=headers, body=body, secrets=("WH-OTHER", WEBHOOK_ID), url=""
    )
    assert event.object_id == order_id and json.loads(body)["resource_type"] == "checkout-order"
    tampered = body.replace(b'"status":"COMPLETED"', b'"status":"COMPLETEd"', 1)
    assert tampered != body
    with pytest.raises(InvalidWebhookSignature):
        await paypal.verify_webhook_with_api(
            headers=headers, body=tampered, secrets=(WEBHOOK_ID,), url=""
        )


async def test_subscription_lifecycle(
    paypal: PayPalConnector, transport: httpx.ASGITransport
) -> None:
    plan = await paypal.create_plan(
        CreatePlan(
            name="Pro",
            amount=Money(1500, "USD"),
            interval=PlanInterval.month,
            idempotency_key="plan",
        )
    )
    assert plan.startswith("P-")
    sub = await paypal.create_subscription(
        CreateSubscription(
            reference="sub_ours",
            plan_id=plan,
            idempotency_key="sub",
            customer=Customer(email="s@example.com"),
            total_count=12,
        )
    )
    assert (
        sub.status is SubscriptionStatus.requires_action
        and sub.provider_subscription_id.startswith("I-")
    )
    await approve(transport, sub.next_action_url)
    sid = sub.provider_subscription_id
    active = await paypal.get_subscription(sid)
    assert active.status is SubscriptionStatus.active and active.current_period_end is not None
    await pause_resume_cancel(paypal, sid)
    with pytest.raises(ProviderDeclined) as caught:
        await paypal.pause_subscription(sid, idempotency_key="4")
    assert caught.value.extra["provider_code"] == "SUBSCRIPTION_STATUS_INVALID"
