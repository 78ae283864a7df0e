"""The Razorpay sandbox checked by the official `razorpay` SDK.

`razorpay.Client(auth=(key_id, key_secret), base_url=url)` talks to the sandbox over real
HTTP: orders create and fetch, the order's payments, payment capture and refund, refund
fetch, plans and subscriptions, each answer through the SDK's own error handling. The SDK's
`Utility` accepts the sandbox's webhook signatures and Checkout's payment signatures.
"""

from __future__ import annotations

import httpx
import pytest
import razorpay
from razorpay.errors import BadRequestError, SignatureVerificationError

KEY_ID = "rzp_test_OracleKey0001"
KEY_SECRET = "oracle_key_secret"


@pytest.fixture
def client(sandbox_server: str) -> razorpay.Client:
    return razorpay.Client(auth=(KEY_ID, KEY_SECRET), base_url=f"{sandbox_server}/razorpay")


def _checkout(sandbox_server: str, order_id: str) -> dict[str, str]:
    response = httpx.get(f"{sandbox_server}/razorpay/_sandbox/checkout/{order_id}")
    assert response.status_code == 200, response.text
    return response.json()


def test_sdk_order_capture_refund(client: razorpay.Client, sandbox_server: str) -> None:
    order = client.order.create(
        {
            "amount": 50_000,
            "currency": "INR",
            "receipt": "rcpt_1",
            "payment_capture": 0,
            "notes": {"k": "v"},
        }
    )
    assert (
        order["entity"] == "order"
        and order["status"] == "created"
        and order["amount_due"] == 50_000
    )
    assert client.order.fetch(order["id"])["receipt"] == "rcpt_1"
    answer = _checkout(sandbox_server, order["id"])
    assert client.utility.verify_payment_signature(answer)
    payments = client.order.payments(order["id"])
    assert payments["count"] == 1 and payments["items"][0]["status"] == "authorized"
    pay_id = answer["razorpay_payment_id"]
    captured = client.payment.capture(pay_id, 50_000, {"currency": "INR"})
    assert captured["status"] == "captured" and captured["captured"] is True
    assert client.order.fetch(order["id"])["status"] == "paid"
    refund = client.payment.refund(pay_id, {"amount": 10_000})
    assert refund["entity"] == "refund" and refund["status"] == "processed"
    assert client.refund.fetch(refund["id"])["payment_id"] == pay_id
    fetched = client.payment.fetch(pay_id)
    assert fetched["amount_refunded"] == 10_000 and fetched["refund_status"] == "partial"
    with pytest.raises(BadRequestError):
        client.payment.refund(pay_id, {"amount": 40_001})
    with pytest.raises(BadRequestError):
        client.payment.capture(pay_id, 50_000)


def test_sdk_subscriptions(client: razorpay.Client, sandbox_server: str) -> None:
    plan = client.plan.create(
        {
            "period": "monthly",
            "interval": 1,
            "item": {"name": "Gold", "amount": 49_900, "currency": "INR"},
        }
    )
    sub = client.subscription.create(
        {"plan_id": plan["id"], "total_count": 6, "customer_notify": 1}
    )
    assert sub["status"] == "created" and sub["short_url"]
    httpx.get(sub["short_url"])
    assert client.subscription.fetch(sub["id"])["status"] == "active"
    assert client.subscription.pause(sub["id"], {"pause_at": "now"})["status"] == "paused"
    assert client.subscription.resume(sub["id"], {"resume_at": "now"})["status"] == "active"
    assert (
        client.subscription.cancel(sub["id"], {"cancel_at_cycle_end": 0})["status"] == "cancelled"
    )


def test_sdk_accepts_sandbox_webhook_signature(
    client: razorpay.Client, sandbox_server: str
) -> None:
    order = client.order.create({"amount": 1000, "currency": "INR"})
    _checkout(sandbox_server, order["id"])
    response = httpx.post(
        f"{sandbox_server}/razorpay/_sandbox/webhooks",
        json={"object_id": order["id"], "event": "order.paid", "secret": "wh_secret"},
    )
    data = response.json()
    signature = data["headers"]["X-Razorpay-Signature"]
    assert razorpay.Utility(None).verify_webhook_signature(data["body"], signature, "wh_secret")
    with pytest.raises(SignatureVerificationError):
        razorpay.Utility(None).verify_webhook_signature(data["body"] + " ", signature, "wh_secret")


def test_sdk_sees_auth_failures(sandbox_server: str, client: razorpay.Client) -> None:
    client.order.create({"amount": 1000, "currency": "INR"})
    wrong = razorpay.Client(auth=(KEY_ID, "not_the_secret"), base_url=f"{sandbox_server}/razorpay")
    with pytest.raises(BadRequestError):
        wrong.order.create({"amount": 1000, "currency": "INR"})
