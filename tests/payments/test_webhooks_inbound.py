"""Inbound provider webhooks, for every payment provider (acceptance check 2): signed by the
provider's sandbox exactly as the provider signs, delivered to our endpoint."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.connectors.base import Credentials, Environment
from moneyrail.core.models import OutboxEvent
from moneyrail.payments.models import InboundEvent
from tests.conftest import problem
from tests.factories import TenantContext, make_tenant
from tests.payments.helpers import (
    PROVIDERS,
    deliver,
    pay_at_provider,
    payment_body,
    refund_at_provider,
    root_client,
    sandbox_creds,
    signed_event,
)

# Providers whose refunds arrive as refund events (Chapa reports them on the charge).
REFUND_EVENTS = ("stripe", "paypal", "razorpay", "paystack", "flutterwave")
# Providers with a transaction to report before the customer paid (Flutterwave has none).
EARLY_EVENTS = ("stripe", "paypal", "razorpay", "paystack", "chapa")
SIGNATURE_HEADERS = {
    "stripe": ("stripe-signature",),
    "razorpay": ("x-razorpay-signature",),
    "paypal": ("paypal-transmission-sig",),
    "paystack": ("x-paystack-signature",),
    "flutterwave": ("verif-hash", "flutterwave-signature"),
    "chapa": ("chapa-signature", "x-chapa-signature"),
}


async def _unpaid_payment(
    client: httpx.AsyncClient, tenant: TenantContext, provider: str, amount: int = 10_000
) -> dict[str, Any]:
    body = payment_body(provider, amount)
    body.pop("payment_method", None)  # the customer pays later, at the provider
    response = await client.post("/payments", json=body, headers=tenant.with_idempotency())
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "requires_action", response.json()
    return response.json()


async def _show(
    client: httpx.AsyncClient, tenant: TenantContext, payment_id: str
) -> dict[str, Any]:
    return (await client.get(f"/payments/{payment_id}", headers=tenant.headers)).json()


def _tampered(body: bytes) -> bytes:
    index = body.index(b'"', 2) + 1  # inside the first JSON string value or key
    flipped = bytes([body[index] ^ 0x01])
    return body[:index] + flipped + body[index + 1 :]


async def _count(session: AsyncSession, model: Any, *conditions: Any) -> int:
    return int(
        await session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0
    )


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_valid_event_applies_once_and_forgeries_change_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    system_session: AsyncSession,
    provider: str,
) -> None:
    tenant = await make_tenant(session)
    creds = sandbox_creds(app, tenant, provider)
    payment = await _unpaid_payment(client, tenant, provider)
    async with root_client(app, tenant) as root:
        await pay_at_provider(app, root, creds, payment)
        headers, body = await signed_event(root, creds, payment=payment)

    # One byte changed, the signature removed, or the right event sent for another tenant:
    # 401, and the payment is as it was.
    problem(await deliver(client, provider, tenant.tenant_id, headers, _tampered(body)), 401)
    unsigned = {k: v for k, v in headers.items() if k.lower() not in SIGNATURE_HEADERS[provider]}
    problem(await deliver(client, provider, tenant.tenant_id, unsigned, body), 401)
    other = await make_tenant(session)
    problem(await deliver(client, provider, other.tenant_id, headers, body), 401)
    problem(await deliver(client, provider, "", headers, body), 401)
    assert (await _show(client, tenant, payment["id"]))["status"] == "requires_action"

    answers = [await deliver(client, provider, tenant.tenant_id, headers, body) for _ in range(10)]
    assert [a.status_code for a in answers] == [200] * 10, answers[0].text
    assert [a.json()["duplicate"] for a in answers] == [False] + [True] * 9
    shown = await _show(client, tenant, payment["id"])
    assert shown["status"] == "captured", shown
    assert shown["captured_amount"]["amount"] == payment["amount"]["amount"]
    captured_events = await _count(
        system_session,
        OutboxEvent,
        OutboxEvent.tenant_id == tenant.tenant_id,
        OutboxEvent.type == "payment.captured",
    )
    assert captured_events == 1
    assert (
        await _count(system_session, InboundEvent, InboundEvent.tenant_id == tenant.tenant_id) == 1
    )


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_events_in_any_order_converge(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, provider: str
) -> None:
    """The same story told in order and in reverse order ends in the same state."""
    tenant = await make_tenant(session)
    creds = sandbox_creds(app, tenant, provider)
    finals = []
    async with root_client(app, tenant) as root:
        for reverse in (False, True):
            payment = await _unpaid_payment(client, tenant, provider)
            events = []
            if provider in EARLY_EVENTS:
                events.append(await signed_event(root, creds, payment=payment))
            await pay_at_provider(app, root, creds, payment)
            events.append(await signed_event(root, creds, payment=payment))
            if provider in REFUND_EVENTS:
                refund_id = await refund_at_provider(app, creds, payment, 3_000)
                events.append(await signed_event(root, creds, refund_id=refund_id))
            for headers, body in reversed(events) if reverse else events:
                answer = await deliver(client, provider, tenant.tenant_id, headers, body)
                assert answer.status_code == 200, answer.text
            shown = await _show(client, tenant, payment["id"])
            finals.append(
                (
                    shown["status"],
                    shown["captured_amount"]["amount"],
                    shown["refunded_amount"]["amount"],
                )
            )
    expected_refund = 3_000 if provider in REFUND_EVENTS else 0
    expected_status = "partially_refunded" if expected_refund else "captured"
    assert finals == [(expected_status, 10_000, expected_refund)] * 2, finals


async def test_stale_stripe_timestamp_is_refused(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    creds = sandbox_creds(app, tenant, "stripe")
    payment = await _unpaid_payment(client, tenant, "stripe")
    async with root_client(app, tenant) as root:
        await pay_at_provider(app, root, creds, payment)
        headers, body = await signed_event(
            root, creds, payment=payment, timestamp=int(time.time()) - 400
        )
    problem(await deliver(client, "stripe", tenant.tenant_id, headers, body), 401)
    assert (await _show(client, tenant, payment["id"]))["status"] == "requires_action"


def _rotating_credentials(provider: str) -> tuple[dict[str, str], list[str]]:
    token = secrets.token_hex(8)
    if provider == "stripe":
        return {"secret_key": f"sk_test_{token}"}, [f"whsec_{token}a", f"whsec_{token}b"]
    if provider == "razorpay":
        return {"key_id": f"rzp_test_{token[:14]}", "key_secret": token}, [f"{token}a", f"{token}b"]
    if provider == "paypal":
        return {"client_id": f"id-{token}", "client_secret": token}, [
            f"WH-{token}A",
            f"WH-{token}B",
        ]
    if provider == "paystack":
        return {"secret_key": f"sk_test_{token}new"}, [f"sk_test_{token}old", f"sk_test_{token}new"]
    if provider == "flutterwave":
        return {"secret_key": f"FLWSECK_TEST-{token}-X"}, [f"{token}a", f"{token}b"]
    return {"secret_key": f"CHASECK_TEST-{token}"}, [f"{token}a", f"{token}b"]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_both_secrets_verify_during_a_rotation(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, provider: str
) -> None:
    tenant = await make_tenant(session)
    values, hooks = _rotating_credentials(provider)
    stored = await client.post(
        f"/services/{provider}/credentials",
        json={"environment": "test", "credentials": values, "webhook_secrets": hooks},
        headers=tenant.headers,
    )
    assert stored.status_code == 200, stored.text
    creds = Credentials(
        provider=provider, environment=Environment.test, values=values, webhook_secrets=tuple(hooks)
    )
    payment = await _unpaid_payment(client, tenant, provider)
    async with root_client(app, tenant) as root:
        await pay_at_provider(app, root, creds, payment)
        for secret in hooks:
            headers, body = await signed_event(root, creds, payment=payment, secret=secret)
            answer = await deliver(client, provider, tenant.tenant_id, headers, body)
            assert answer.status_code == 200, (secret, answer.text)
        retired = f"retired-{uuid.uuid4().hex}"
        if provider == "paypal":
            retired = "WH-" + retired
        headers, body = await signed_event(root, creds, payment=payment, secret=retired)
    problem(await deliver(client, provider, tenant.tenant_id, headers, body), 401)
    assert (await _show(client, tenant, payment["id"]))["status"] == "captured"


async def test_only_the_canonical_path_and_known_providers(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The seeds' older path (`/webhooks/{provider}`) is not served: one canonical path."""
    tenant = await make_tenant(session)
    creds = sandbox_creds(app, tenant, "paystack")
    payment = await _unpaid_payment(client, tenant, "paystack")
    async with root_client(app, tenant) as root:
        await pay_at_provider(app, root, creds, payment)
        headers, body = await signed_event(root, creds, payment=payment)
    old = await deliver(client, "paystack", tenant.tenant_id, headers, body, path="/webhooks")
    assert old.status_code in (404, 405), old.text
    answer = await deliver(client, "paystack", tenant.tenant_id, headers, body)
    assert answer.status_code == 200, answer.text
    assert (await _show(client, tenant, payment["id"]))["status"] == "captured"
    problem(await deliver(client, "venmo", tenant.tenant_id, headers, body), 404)
