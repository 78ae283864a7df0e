"""Driving the provider sandboxes the way a customer and a provider would, for payments tests."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from fastapi import FastAPI

from moneyrail.connectors import registry
from moneyrail.connectors.base import Credentials, PaymentConnector
from moneyrail.connectors.paystack import signature as paystack_signature
from moneyrail.core.money import Money
from moneyrail.core.settings import get_settings
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


def root_client(app: FastAPI, tenant: TenantContext | None = None) -> httpx.AsyncClient:
    """A client for paths outside /api/v1 (the mounted sandboxes), on the public base URL so
    the URLs the sandboxes put in what they sign (PayPal's certificate URL) are the ones the
    connectors expect. The sandboxes' test hooks there need the tenant's test-mode key."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=get_settings().public_base_url,
        headers=tenant.headers if tenant else None,
    )


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


def provider_side(app: FastAPI, creds: Credentials) -> PaymentConnector:
    """The provider's own API as the tenant's dashboard would use it (not through moneyrail)."""
    return registry.payment_connector(creds.provider, creds, transport=app.state.provider_transport)


async def pay_at_provider(
    app: FastAPI, root: httpx.AsyncClient, creds: Credentials, payment: dict[str, Any]
) -> None:
    """The customer pays (and, for PayPal, the merchant captures in its dashboard), without
    moneyrail hearing of it."""
    provider = creds.provider
    if provider == "stripe":
        response = await root.post(
            f"/sandbox/stripe/_sandbox/payment_intents/{payment['provider_payment_id']}/succeed"
        )
        assert response.status_code == 200, response.text
        return
    await pay_at_checkout(root, provider, payment["next_action"]["url"])
    if provider == "paypal":
        connector = provider_side(app, creds)
        try:
            await connector.capture(
                payment["provider_payment_id"], amount=None, idempotency_key=uuid.uuid4().hex
            )
        finally:
            await connector.aclose()


async def refund_at_provider(
    app: FastAPI, creds: Credentials, payment: dict[str, Any], amount: int
) -> str:
    connector = provider_side(app, creds)
    try:
        refund = await connector.refund(
            payment["provider_payment_id"],
            amount=Money(amount, payment["amount"]["currency"]),
            idempotency_key=uuid.uuid4().hex,
        )
    finally:
        await connector.aclose()
    return refund.provider_refund_id


async def signed_event(
    root: httpx.AsyncClient,
    creds: Credentials,
    *,
    payment: dict[str, Any] | None = None,
    refund_id: str | None = None,
    secret: str | None = None,
    **extra: Any,
) -> tuple[dict[str, str], bytes]:
    """A webhook about a payment (or a refund) exactly as the provider would sign and send it,
    made by the provider's sandbox. `secret` picks the signing secret (rotation tests)."""
    provider = creds.provider
    hook = f"/sandbox/{provider}/_sandbox/webhooks"
    secret = secret or (creds.webhook_secrets[0] if creds.webhook_secrets else None)
    object_id = refund_id or (payment or {}).get("provider_payment_id")
    auth = {"Authorization": f"Bearer {creds.values.get('secret_key', '')}"}
    if provider == "stripe" or provider == "razorpay":
        response = await root.post(hook, json={"object_id": object_id, "secret": secret, **extra})
    elif provider == "paypal":
        response = await root.post(
            hook, json={"object_id": object_id, "webhook_id": secret, **extra}
        )
    elif provider == "paystack":
        spec = {"refund_id": int(refund_id)} if refund_id else {"reference": object_id}
        response = await root.post(hook, json={**spec, **extra}, headers=auth)
    elif provider == "flutterwave":
        spec = {"refund_id": int(refund_id)} if refund_id else {"tx_ref": object_id}
        response = await root.post(
            hook, json={**spec, "secret_hash": secret, **extra}, headers=auth
        )
    else:
        response = await root.post(
            hook, json={"tx_ref": object_id, "secret_hash": secret, **extra}, headers=auth
        )
    assert response.status_code == 200, (provider, response.text)
    signed = response.json()
    headers, body = dict(signed["headers"]), signed["body"].encode()
    if provider == "paystack" and secret and secret != creds.values.get("secret_key"):
        # Paystack signs with the account's secret key; an older key signs as it would have.
        headers["x-paystack-signature"] = paystack_signature(secret, body)
    return headers, body


async def deliver(
    client: httpx.AsyncClient,
    provider: str,
    tenant_id: str,
    headers: dict[str, str],
    body: bytes,
    *,
    path: str = "/webhooks/providers",
) -> httpx.Response:
    return await client.post(
        f"{path}/{provider}", params={"tenant": tenant_id}, content=body, headers=headers
    )


def sandbox_state(app: FastAPI, provider: str) -> Any:
    """The in-memory state of the provider's sandbox mounted in `app` (what the provider
    holds), to count what it made."""
    from starlette.routing import Mount

    mounted = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/sandbox")
    sandbox = next(
        r for r in mounted.app.routes if isinstance(r, Mount) and r.path == f"/{provider}"
    )
    return next(m.kwargs["state"] for m in sandbox.app.user_middleware if "state" in m.kwargs)


def objects_mentioning(app: FastAPI, provider: str, text: str, *, kind: str) -> int:
    """How many of the sandbox's objects of `kind` carry `text` (our payment id)."""
    import json

    state = sandbox_state(app, provider)
    return sum(
        1
        for obj in state.objects.values()
        if kind in (obj.get("object"), obj.get("_kind"), obj.get("entity"))
        and text in json.dumps(obj, default=str)
    )
