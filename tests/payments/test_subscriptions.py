"""Subscriptions on the providers that have them, and renewals recorded as payments."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.connectors.base import CreatePayment, Customer
from moneyrail.connectors.webhook_signatures import razorpay_signature
from moneyrail.core.money import Money
from tests.conftest import problem
from tests.factories import make_tenant
from tests.payments.helpers import (
    deliver,
    pay_at_checkout,
    provider_side,
    root_client,
    sandbox_creds,
    signed_event,
)


def _plan(currency: str = "USD") -> dict:
    return {
        "name": "Pro monthly",
        "amount": {"amount": 1_500, "currency": currency},
        "interval": "month",
    }


async def test_stripe_subscription_lifecycle(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    created = await client.post(
        "/subscriptions",
        json={
            "provider": "stripe",
            "plan": _plan(),
            "customer": {"email": "ada@example.com", "name": "Ada"},
            "payment_method": "pm_card_visa",
            "metadata": {"plan": "pro"},
        },
        headers=tenant.with_idempotency(),
    )
    assert created.status_code == 201, created.text
    sub = created.json()
    assert sub["status"] == "active" and sub["plan"]["id"].startswith("price_")
    assert sub["plan"]["amount"] == {"amount": 1_500, "currency": "USD"}
    sub_id = sub["id"]
    paused = await client.post(f"/subscriptions/{sub_id}/pause", headers=tenant.with_idempotency())
    assert paused.json()["status"] == "paused", paused.text
    resumed = await client.post(
        f"/subscriptions/{sub_id}/resume", headers=tenant.with_idempotency()
    )
    assert resumed.json()["status"] == "active", resumed.text
    assert (await client.get(f"/subscriptions/{sub_id}", headers=tenant.headers)).json()[
        "status"
    ] == "active"
    cancelled = await client.delete(f"/subscriptions/{sub_id}", headers=tenant.headers)
    assert cancelled.json()["status"] == "cancelled", cancelled.text
    again = await client.delete(f"/subscriptions/{sub_id}", headers=tenant.headers)
    assert again.json()["status"] == "cancelled"
    problem(
        await client.post(f"/subscriptions/{sub_id}/pause", headers=tenant.with_idempotency()),
        409,
        "subscription_finished",
    )
    other = await make_tenant(session)
    problem(await client.get(f"/subscriptions/{sub_id}", headers=other.headers), 404)


@pytest.mark.parametrize(("provider", "currency"), [("razorpay", "INR"), ("paypal", "USD")])
async def test_subscriptions_needing_the_customer_give_a_link(
    client: httpx.AsyncClient, session: AsyncSession, provider: str, currency: str
) -> None:
    tenant = await make_tenant(session)
    created = await client.post(
        "/subscriptions",
        json={
            "provider": provider,
            "plan": _plan(currency),
            "customer": {"email": "ada@example.com"},
            "total_count": 12,
        },
        headers=tenant.with_idempotency(),
    )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "requires_action"
    assert created.json()["next_action"]["url"].startswith("http")


async def test_subscription_requests_are_validated(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    problem(
        await client.post(
            "/subscriptions",
            json={"provider": "flutterwave", "plan_id": "PLN_x"},
            headers=tenant.with_idempotency(),
        ),
        422,
        "provider_operation_not_supported",
    )
    for body in (
        {"provider": "venmo", "plan_id": "PLN_x"},
        {"provider": "stripe"},
        {"provider": "stripe", "plan_id": "price_1", "plan": _plan()},
    ):
        problem(
            await client.post("/subscriptions", json=body, headers=tenant.with_idempotency()),
            422,
            "validation_error",
        )
    problem(
        await client.post(
            "/subscriptions",
            json={"provider": "stripe", "plan": _plan()},
            headers=tenant.headers,
        ),
        400,
        "idempotency_key_required",
    )


async def test_a_renewal_charge_is_recorded_once_as_a_payment(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Razorpay reports each renewal as `subscription.charged`, carrying the subscription
    and the payment; the payment is fetched again from Razorpay and recorded."""
    tenant = await make_tenant(session)
    creds = sandbox_creds(app, tenant, "razorpay")
    created = await client.post(
        "/subscriptions",
        json={"provider": "razorpay", "plan": _plan("INR"), "total_count": 6},
        headers=tenant.with_idempotency(),
    )
    sub = created.json()
    # The renewal's charge, as Razorpay makes it: an order paid with the saved mandate.
    connector = provider_side(app, creds)
    try:
        order = await connector.create_payment(
            CreatePayment(
                reference=f"renewal-{uuid.uuid4().hex[:8]}",
                amount=Money(1_500, "INR"),
                idempotency_key=uuid.uuid4().hex[:30],
                customer=Customer(email="ada@example.com"),
            )
        )
    finally:
        await connector.aclose()
    async with root_client(app, tenant) as root:
        assert order.next_action_url is not None
        await pay_at_checkout(root, "razorpay", order.next_action_url)
        _, order_body = await signed_event(
            root, creds, payment={"provider_payment_id": order.provider_payment_id}
        )
        _, sub_body = await signed_event(
            root, creds, payment={"provider_payment_id": sub["provider_subscription_id"]}
        )
    payment_entity = json.loads(order_body)["payload"]["payment"]["entity"]
    subscription_entity = json.loads(sub_body)["payload"]["subscription"]["entity"]
    event = {
        "entity": "event",
        "account_id": json.loads(sub_body)["account_id"],
        "event": "subscription.charged",
        "contains": ["subscription", "payment"],
        "payload": {
            "subscription": {"entity": subscription_entity},
            "payment": {"entity": payment_entity},
        },
        "created_at": int(time.time()),
    }
    body = json.dumps(event).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Razorpay-Signature": razorpay_signature(body, creds.webhook_secrets[0]),
        "X-Razorpay-Event-Id": uuid.uuid4().hex[:14],
    }
    for _ in range(2):
        answer = await deliver(client, "razorpay", tenant.tenant_id, headers, body)
        assert answer.status_code == 200, answer.text
    renewals = (
        await client.get("/payments", params={"subscription_id": sub["id"]}, headers=tenant.headers)
    ).json()["data"]
    assert len(renewals) == 1
    renewal = renewals[0]
    assert renewal["provider_payment_id"] == order.provider_payment_id
    assert renewal["amount"] == {"amount": 1_500, "currency": "INR"}
    assert renewal["status"] in ("captured", "authorized"), renewal


def test_subscription_providers_match_the_connectors() -> None:
    import importlib

    from moneyrail.connectors import registry
    from moneyrail.payments.routing.rules import SUBSCRIPTION_PROVIDERS

    capable = {
        provider
        for provider, name in registry.CONNECTOR_CLASSES.items()
        if all(
            callable(
                getattr(
                    getattr(importlib.import_module(f"moneyrail.connectors.{provider}"), name),
                    m,
                    None,
                )
            )
            for m in registry.SUBSCRIPTION_METHODS
        )
    }
    assert capable == set(SUBSCRIPTION_PROVIDERS)
