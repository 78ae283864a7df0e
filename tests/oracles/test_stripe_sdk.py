"""The Stripe sandbox checked by outside oracles.

1. The official `stripe` SDK, pointed at the sandbox over real HTTP with
   `StripeClient(key, base_addresses={"api": url})`: create, retrieve and capture a
   PaymentIntent and create a refund, each answer parsed into the SDK's own objects.
2. The SDK's webhook helpers: `Webhook.construct_event` / `WebhookSignature.verify_header`
   accept the sandbox's signatures, and our verifier accepts headers made by
   `WebhookSignature.generate_signature_header`.
3. Stripe's published example objects (`tests/oracles/specs/stripe-fixtures3.json`,
   what stripe-mock answers): the sandbox's objects use only fields Stripe has, with the
   same JSON types.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from moneyrail.connectors.base import InvalidWebhookSignature
from moneyrail.connectors.stripe import StripeConnector
from tests.sandbox.helpers import credentials

KEY = "sk_test_51Oracle"
SECRET = "whsec_oracle"
FIXTURES = Path(__file__).resolve().parent / "specs" / "stripe-fixtures3.json"


@pytest.fixture
def client(sandbox_server: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        KEY, base_addresses={"api": f"{sandbox_server}/stripe"}, max_network_retries=0
    )


def test_sdk_payment_intent_lifecycle_and_refund(client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(
        params={
            "amount": 2000,
            "currency": "usd",
            "capture_method": "manual",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "metadata": {"order": "o-1"},
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
    )
    assert isinstance(intent, stripe.PaymentIntent)
    assert intent.status == "requires_capture" and intent.metadata["order"] == "o-1"
    fetched = client.v1.payment_intents.retrieve(intent.id)
    assert fetched.amount_capturable == 2000
    captured = client.v1.payment_intents.capture(intent.id, params={"amount_to_capture": 1500})
    assert captured.status == "succeeded" and captured.amount_received == 1500
    refund = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 500})
    assert (
        isinstance(refund, stripe.Refund) and refund.status == "succeeded" and refund.amount == 500
    )
    assert client.v1.refunds.retrieve(refund.id).payment_intent == intent.id
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1001})
    assert caught.value.code == "amount_too_large"


def test_sdk_sees_declines_and_bad_keys(client: stripe.StripeClient, sandbox_server: str) -> None:
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_intents.create(
            params={
                "amount": 100,
                "currency": "usd",
                "payment_method": "pm_card_chargeDeclined",
                "confirm": True,
            }
        )
    assert caught.value.code == "card_declined"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.retrieve("pi_unknown")
    bad = stripe.StripeClient(
        "sk_live_nope", base_addresses={"api": f"{sandbox_server}/stripe"}, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError):
        bad.v1.payment_intents.retrieve("pi_unknown")


def test_sdk_idempotent_replay(client: stripe.StripeClient) -> None:
    params: Any = {"amount": 700, "currency": "usd"}
    first = client.v1.payment_intents.create(params=params, options={"idempotency_key": "oracle-k"})
    second = client.v1.payment_intents.create(
        params=params, options={"idempotency_key": "oracle-k"}
    )
    assert first.id == second.id
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(
            params={"amount": 701, "currency": "usd"}, options={"idempotency_key": "oracle-k"}
        )


def _sandbox_event(
    sandbox_server: str, client: stripe.StripeClient, **spec: Any
) -> tuple[str, str]:
    intent = client.v1.payment_intents.create(
        params={
            "amount": 900,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
    )
    response = httpx.post(
        f"{sandbox_server}/stripe/_sandbox/webhooks",
        json={"object_id": intent.id, "type": "payment_intent.succeeded", **spec},
    )
    data = response.json()
    return data["body"], data["headers"]["Stripe-Signature"]


def test_sdk_accepts_sandbox_webhook_signatures(
    client: stripe.StripeClient, sandbox_server: str
) -> None:
    body, header = _sandbox_event(sandbox_server, client, secret=SECRET)
    event = stripe.Webhook.construct_event(body, header, SECRET)
    assert event.type == "payment_intent.succeeded" and event.id.startswith("evt_")
    assert stripe.WebhookSignature.verify_header(body, header, SECRET, tolerance=300)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body + " ", header, SECRET)
    stale_body, stale = _sandbox_event(
        sandbox_server, client, secret=SECRET, timestamp=int(time.time()) - 400
    )
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(stale_body, stale, SECRET)


def test_our_verifier_accepts_sdk_generated_headers() -> None:
    connector = StripeConnector(credentials("stripe", secret_key=KEY), base_url="http://unused")
    body = json.dumps(
        {
            "id": "evt_sdk",
            "object": "event",
            "type": "refund.created",
            "created": 1,
            "data": {"object": {"id": "re_1", "object": "refund", "payment_intent": "pi_1"}},
        }
    )
    header = stripe.WebhookSignature.generate_signature_header(body, SECRET)
    event = connector.verify_webhook(
        headers={"Stripe-Signature": header},
        body=body.encode(),
        secrets=("whsec_other", SECRET),
        url="",
    )
    assert (event.event_id, event.object_type, event.object_id) == ("evt_sdk", "refund", "re_1")
    stale = stripe.WebhookSignature.generate_signature_header(
        body, SECRET, timestamp=int(time.time()) - 400
    )
    with pytest.raises(InvalidWebhookSignature):
        connector.verify_webhook(
            headers={"Stripe-Signature": stale}, body=body.encode(), secrets=(SECRET,), url=""
        )


def _same_shape(ours: dict[str, Any], reference: dict[str, Any], path: str = "") -> list[str]:
    problems = []
    for key, value in ours.items():
        if key not in reference:
            problems.append(f"{path}{key}: not a Stripe field")
            continue
        expected = reference[key]
        if value is None or expected is None:
            continue
        if type(value) is not type(expected) and not (
            isinstance(value, int | float) and isinstance(expected, int | float)
        ):
            problems.append(
                f"{path}{key}: {type(value).__name__} where Stripe has {type(expected).__name__}"
            )
    return problems


def test_sandbox_objects_match_stripe_fixtures(
    client: stripe.StripeClient, sandbox_server: str
) -> None:
    fixtures = json.loads(FIXTURES.read_text())["resources"]
    headers = {"Authorization": f"Bearer {KEY}"}

    def post(path: str, data: dict[str, str]) -> Any:
        return httpx.post(f"{sandbox_server}/stripe/v1/{path}", headers=headers, data=data).json()

    intent = post(
        "payment_intents",
        {
            "amount": "1000",
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": "true",
        },
    )
    refund = post(
        "refunds",
        {"payment_intent": intent["id"], "amount": "100"},
    )
    price = post(
        "prices",
        {
            "unit_amount": "100",
            "currency": "usd",
            "recurring[interval]": "month",
            "product_data[name]": "P",
        },
    )
    customer = post(
        "customers",
        {"email": "c@example.com", "payment_method": "pm_card_visa"},
    )
    sub = post(
        "subscriptions",
        {"customer": customer["id"], "items[0][price]": price["id"]},
    )
    error = httpx.get(f"{sandbox_server}/stripe/v1/payment_intents/pi_nope", headers=headers).json()
    checks = {
        "payment_intent": intent,
        "refund": refund,
        "price": price,
        "customer": customer,
        "subscription": sub,
    }
    problems = [
        p for name, obj in checks.items() for p in _same_shape(obj, fixtures[name], f"{name}.")
    ]
    problems += _same_shape(
        sub["items"]["data"][0], fixtures["subscription"]["items"]["data"][0], "subscription_item."
    )
    assert problems == []
    assert set(error["error"]) <= {
        "type",
        "code",
        "message",
        "param",
        "decline_code",
        "doc_url",
        "payment_intent",
    }
