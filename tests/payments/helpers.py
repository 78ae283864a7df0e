"""Driving the provider sandboxes the way a customer and a provider would, for payments tests."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from fastapi import FastAPI

from moneyrail.connectors.base import Credentials
from moneyrail.payments.credentials import sandbox_credentials
from moneyrail.payments.providers import ProviderRuntime
from tests.factories import TenantContext

PROVIDERS = ("stripe", "paypal", "razorpay", "paystack", "flutterwave", "chapa")
# A currency each provider's sandbox takes, with a payment amount in minor units.
CURRENCY = {
    "stripe": "USD",
    "paypal": "USD",
    "razorpay": "INR",
    "paystack": "NGN",
    "flutterwave": "NGN",
    "chapa": "ETB",
}


def root_client(app: FastAPI) -> httpx.AsyncClient:
    """A client for paths outside /api/v1 (the mounted sandboxes)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def runtime(app: FastAPI) -> ProviderRuntime:
    return ProviderRuntime.from_settings(app.state.settings)


def sandbox_creds(app: FastAPI, tenant: TenantContext, provider: str) -> Credentials:
    """The sandbox credentials a tenant without stored test credentials is given."""
    return sandbox_credentials(
        runtime(app).sandbox_seed, tenant_id=tenant.tenant_id, provider=provider
    )


def local_path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def payment_body(provider: str, amount: int = 10_000, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": {"amount": amount, "currency": CURRENCY[provider]},
        "provider": provider,
        "description": f"order {uuid.uuid4().hex[:8]}",
        "customer": {"email": "ada@example.com", "name": "Ada Lovelace", "phone": "+2348000000000"},
        "return_url": "https://shop.example/return",
        "metadata": {"order": "42"},
    }
    if provider == "stripe":
        body["payment_method"] = "pm_card_visa"
    body.update(extra)
    return body


async def pay_at_checkout(root: httpx.AsyncClient, provider: str, next_action_url: str) -> None:
    """Complete a hosted checkout as the customer would (providers without server-side
    confirmation)."""
    parts = urlsplit(next_action_url)
    path, query = parts.path, dict(parse_qsl(parts.query))
    if provider == "razorpay":
        response = await root.get(path, params={**query, "outcome": "succeed"})
    elif provider == "paypal":
        response = await root.get(path, params={**query, "outcome": "approve"})
    else:
        response = await root.post(path, params=query, json={"outcome": "success"})
    assert response.status_code < 400, (provider, path, response.status_code, response.text)


async def create_captured_payment(
    client: httpx.AsyncClient,
    root: httpx.AsyncClient,
    tenant: TenantContext,
    provider: str,
    amount: int = 10_000,
) -> dict[str, Any]:
    """A payment through `provider`'s sandbox, paid and captured, as the API shows it."""
    response = await client.post(
        "/payments", json=payment_body(provider, amount), headers=tenant.with_idempotency()
    )
    assert response.status_code == 201, response.text
    payment = response.json()
    if payment["status"] == "requires_action":
        await pay_at_checkout(root, provider, payment["next_action"]["url"])
        response = await client.post(
            f"/payments/{payment['id']}/verify", headers=tenant.with_idempotency()
        )
        assert response.status_code == 200, response.text
        payment = response.json()
    if payment["status"] == "authorized":
        response = await client.post(
            f"/payments/{payment['id']}/capture", headers=tenant.with_idempotency()
        )
        assert response.status_code == 200, response.text
        payment = response.json()
    assert payment["status"] == "captured", payment
    return payment


async def set_faults(root: httpx.AsyncClient, provider: str, **faults: Any) -> None:
    response = await root.post(f"/sandbox/{provider}/_sandbox/faults", json=faults)
    assert response.status_code == 200, response.text
