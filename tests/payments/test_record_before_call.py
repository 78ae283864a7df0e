"""Record before you call (design rule 6) for payment creation, on a database that commits.

A failure after the provider acted is injected for real: a test-only trigger, created by the
schema owner, makes PostgreSQL refuse the request's update of the tenant's payment (phase 2),
so the request's transaction rolls back after the provider made the payment. The record
committed before the call must survive it, a retry must neither reach the provider nor
answer anything but 409, and the recovery job must resolve the payment by looking it up at
the provider — one provider object, at most one ledger entry.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from moneyrail.core.db import bypass_tenant_scope
from moneyrail.payments.providers import ProviderRuntime
from moneyrail.payments.tasks import recover_in_flight
from tests.factories import TenantContext, make_live_tenant
from tests.payments.helpers import (
    PROVIDERS,
    create_captured_payment,
    objects_mentioning,
    pay_at_checkout,
    payment_body,
    provider_side,
    root_client,
    sandbox_creds,
    sandbox_state,
    set_faults,
)

# What each provider's sandbox calls the object a create makes (None: its objects carry no
# kind; every object mentioning the payment id counts).
KIND: dict[str, str | None] = {
    "stripe": "payment_intent",
    "paypal": "order",
    "razorpay": "order",
    "paystack": None,
    "flutterwave": None,
    "chapa": None,
}


def made_at_provider(app: FastAPI, provider: str, payment_id: str) -> int:
    """How many objects the provider's sandbox holds for our payment."""
    kind = KIND[provider]
    if kind is not None:
        return objects_mentioning(app, provider, payment_id, kind=kind)
    state = sandbox_state(app, provider)
    return sum(1 for obj in state.objects.values() if payment_id in json.dumps(obj, default=str))


@asynccontextmanager
async def failing_payment_updates(
    owner_engine: AsyncEngine, tenant_id: str, table: str = "payments"
) -> AsyncIterator[None]:
    """A trigger refusing every update of this tenant's rows of `table` (phase 2), dropped
    after."""
    name = f"test_fail_{uuid.uuid4().hex[:12]}"
    async with owner_engine.begin() as conn:
        await conn.execute(
            text(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                f" IF NEW.tenant_id = '{tenant_id}' THEN"
                "  RAISE EXCEPTION 'injected failure after the provider call';"
                " END IF; RETURN NEW; END $$"
            )
        )
        await conn.execute(
            text(
                f"CREATE TRIGGER {name} BEFORE UPDATE ON {table}"
                f" FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
        )
    try:
        yield
    finally:
        async with owner_engine.begin() as conn:
            await conn.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
            await conn.execute(text(f"DROP FUNCTION IF EXISTS {name}()"))


async def _rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with AsyncSession(engine) as session, session.begin():
        await bypass_tenant_scope(session)
        return list((await session.execute(text(sql), params)).all())


async def _payments_of(engine: AsyncEngine, tenant_id: str) -> list[Any]:
    return await _rows(
        engine,
        "SELECT id, status, provider_payment_id FROM payments WHERE tenant_id = :t",
        t=tenant_id,
    )


async def _attempts_of(engine: AsyncEngine, tenant_id: str) -> list[Any]:
    return await _rows(
        engine,
        "SELECT payment_id, outcome, provider_idempotency_key, reference FROM payment_attempts"
        " WHERE tenant_id = :t ORDER BY seq",
        t=tenant_id,
    )


async def _capture_entries(engine: AsyncEngine, tenant_id: str, payment_id: str) -> int:
    rows = await _rows(
        engine,
        "SELECT count(*) FROM ledger_entries WHERE tenant_id = :t"
        " AND metadata ->> 'payment_id' = :p AND description LIKE '%captured by%'",
        t=tenant_id,
        p=payment_id,
    )
    return int(rows[0][0])


def _runtime(app: FastAPI) -> ProviderRuntime:
    """The worker's runtime, reaching the sandboxes mounted in the app."""
    return ProviderRuntime.from_settings(
        app.state.settings, sandbox_transport=app.state.provider_transport
    )


def _client(app: FastAPI) -> httpx.AsyncClient:
    # A failing request answers 500 instead of raising out of the transport.
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://testserver/api/v1",
    )


# After recovery, with the provider's real state: a Stripe intent confirmed with a card is
# captured; Razorpay's order and Paystack's and Chapa's initialized transactions await the
# customer; PayPal has no order lookup and Flutterwave no transaction before the link is
# paid — and nobody holds the approval link or payment link (it was in the lost answer), so
# nothing can be charged: failed.
RECOVERED_STATUS = {
    "stripe": "captured",
    "razorpay": "requires_action",
    "paystack": "requires_action",
    "chapa": "requires_action",
    "paypal": "failed",
    "flutterwave": "failed",
}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_failure_after_the_provider_acted_is_recovered_by_lookup(
    provider: str, live_app: FastAPI, engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    tenant: TenantContext = await make_live_tenant(engine)
    body = payment_body(provider)
    headers = tenant.with_idempotency()
    async with _client(live_app) as client:
        async with failing_payment_updates(owner_engine, tenant.tenant_id):
            failed = await client.post("/payments", json=body, headers=headers)
            assert failed.status_code >= 500, failed.text
            # The record committed before the call survived the request's rollback.
            [(payment_id, status, provider_payment_id)] = await _payments_of(
                engine, tenant.tenant_id
            )
            assert (status, provider_payment_id) == ("created", None)
            [attempt] = await _attempts_of(engine, tenant.tenant_id)
            assert attempt.outcome == "in_flight"
            assert attempt.reference == payment_id and attempt.provider_idempotency_key
            assert made_at_provider(live_app, provider, payment_id) == 1
            # A retry with the same key is answered 409 and never reaches the provider.
            retried = await client.post("/payments", json=body, headers=headers)
            assert retried.status_code == 409, retried.text
            assert retried.json()["code"] == "payment_in_flight"
            assert retried.json()["payment_id"] == payment_id
            assert made_at_provider(live_app, provider, payment_id) == 1

        result = await recover_in_flight(
            engine, runtime=_runtime(live_app), min_age_seconds=0, lookup_seconds=0
        )
        assert payment_id in result.resolved

        [(_, status, provider_payment_id)] = await _payments_of(engine, tenant.tenant_id)
        assert status == RECOVERED_STATUS[provider]
        [attempt] = await _attempts_of(engine, tenant.tenant_id)
        assert attempt.outcome == ("not_found" if status == "failed" else "accepted")
        assert await _capture_entries(engine, tenant.tenant_id, payment_id) == (
            1 if status == "captured" else 0
        )
        # The client's key now replays the outcome; still one object at the provider.
        replayed = await client.post("/payments", json=body, headers=headers)
        assert replayed.status_code == 201, replayed.text
        assert replayed.headers["Idempotency-Replayed"] == "true"
        assert (replayed.json()["id"], replayed.json()["status"]) == (payment_id, status)
        shown = (await client.get(f"/payments/{payment_id}", headers=tenant.headers)).json()
        assert shown["status"] == status
        assert made_at_provider(live_app, provider, payment_id) == 1
        # A second pass finds nothing left in flight: the ledger entry stays single.
        again = await recover_in_flight(
            engine, runtime=_runtime(live_app), min_age_seconds=0, lookup_seconds=0
        )
        assert payment_id not in again.resolved
        assert await _capture_entries(engine, tenant.tenant_id, payment_id) == (
            1 if status == "captured" else 0
        )


async def test_recovery_waits_while_the_lookup_bound_has_not_passed(
    live_app: FastAPI, engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    """A provider without a trace of the payment yet is asked again later, not failed."""
    tenant = await make_live_tenant(engine)
    body = payment_body("flutterwave")
    headers = tenant.with_idempotency()
    async with _client(live_app) as client:
        async with failing_payment_updates(owner_engine, tenant.tenant_id):
            assert (await client.post("/payments", json=body, headers=headers)).status_code >= 500
        result = await recover_in_flight(engine, runtime=_runtime(live_app), min_age_seconds=0)
    [(payment_id, status, _)] = await _payments_of(engine, tenant.tenant_id)
    assert payment_id not in result.resolved
    assert status == "created"
    [attempt] = await _attempts_of(engine, tenant.tenant_id)
    assert attempt.outcome == "in_flight"


async def test_a_refusal_before_acceptance_leaves_the_key_free(
    live_app: FastAPI, engine: AsyncEngine
) -> None:
    tenant = await make_live_tenant(engine)
    body = payment_body("stripe")
    headers = tenant.with_idempotency()
    async with _client(live_app) as client, root_client(live_app, tenant) as root:
        await set_faults(root, "stripe", unavailable=20)
        try:
            refused = await client.post("/payments", json=body, headers=headers)
        finally:
            await set_faults(root, "stripe")
        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "all_providers_unavailable"
        [(refused_id, status, _)] = await _payments_of(engine, tenant.tenant_id)
        assert status == "failed"
        assert [a.outcome for a in await _attempts_of(engine, tenant.tenant_id)] == ["unavailable"]

        retried = await client.post("/payments", json=body, headers=headers)
    assert retried.status_code == 201, retried.text
    assert "Idempotency-Replayed" not in retried.headers
    payment = retried.json()
    assert payment["id"] != refused_id
    assert payment["status"] == "captured"
    assert objects_mentioning(live_app, "stripe", payment["id"], kind="payment_intent") == 1
    assert objects_mentioning(live_app, "stripe", refused_id, kind="payment_intent") == 0
    assert await _capture_entries(engine, tenant.tenant_id, payment["id"]) == 1


# --- captures ---------------------------------------------------------------------------------

# The sandboxes whose payments can be authorized and captured later; the hosted checkouts
# (Paystack, Flutterwave, Chapa) capture when the customer pays.
CAPTURING = ("stripe", "razorpay", "paypal")


async def _authorized(
    client: httpx.AsyncClient, root: httpx.AsyncClient, tenant: TenantContext, provider: str
) -> dict[str, Any]:
    response = await client.post(
        "/payments",
        json=payment_body(provider, capture="manual"),
        headers=tenant.with_idempotency(),
    )
    assert response.status_code == 201, response.text
    payment: dict[str, Any] = response.json()
    if payment["status"] == "requires_action":
        await pay_at_checkout(root, provider, payment["next_action"]["url"])
        response = await client.post(
            f"/payments/{payment['id']}/verify", headers=tenant.with_idempotency()
        )
        assert response.status_code == 200, response.text
        payment = response.json()
    assert payment["status"] == "authorized", payment
    return payment


async def _captures_of(engine: AsyncEngine, tenant_id: str) -> list[Any]:
    return await _rows(
        engine,
        "SELECT payment_id, status, provider_idempotency_key, idempotency_key"
        " FROM payment_captures WHERE tenant_id = :t ORDER BY created_at",
        t=tenant_id,
    )


async def _at_provider(app: FastAPI, tenant: TenantContext, provider: str, ppid: str) -> Any:
    connector = provider_side(app, sandbox_creds(app, tenant, provider))
    try:
        return await connector.get_payment(ppid)
    finally:
        await connector.aclose()


@pytest.mark.parametrize("provider", CAPTURING)
async def test_a_capture_failing_after_the_provider_acted_is_recovered_by_lookup(
    provider: str, live_app: FastAPI, engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    tenant: TenantContext = await make_live_tenant(engine)
    async with _client(live_app) as client, root_client(live_app, tenant) as root:
        payment = await _authorized(client, root, tenant, provider)
        payment_id, ppid = payment["id"], payment["provider_payment_id"]
        headers = tenant.with_idempotency()
        path = f"/payments/{payment_id}/capture"
        async with failing_payment_updates(owner_engine, tenant.tenant_id):
            failed = await client.post(path, headers=headers)
            assert failed.status_code >= 500, failed.text
            # The capture committed before the call survived the request's rollback...
            [capture] = await _captures_of(engine, tenant.tenant_id)
            assert (capture.payment_id, capture.status) == (payment_id, "in_flight")
            assert capture.provider_idempotency_key and capture.idempotency_key
            [(_, status, _)] = await _payments_of(engine, tenant.tenant_id)
            assert status == "authorized"
            # ...while the provider captured.
            at_provider = await _at_provider(live_app, tenant, provider, ppid)
            assert at_provider.captured_amount == 10_000
            # A retry with the same key is the stored 409; the provider is not called again.
            retried = await client.post(path, headers=headers)
            assert retried.status_code == 409, retried.text
            assert retried.headers["Idempotency-Replayed"] == "true"
            assert retried.json()["code"] == "capture_in_flight"
            assert retried.json()["payment_id"] == payment_id
            # A capture under another key is refused while one is in flight.
            other = await client.post(path, headers=tenant.with_idempotency())
            assert other.status_code == 409, other.text
            assert other.json()["code"] == "capture_in_flight"
        assert await _capture_entries(engine, tenant.tenant_id, payment_id) == 0

        result = await recover_in_flight(
            engine, runtime=_runtime(live_app), min_age_seconds=0, lookup_seconds=0
        )
        assert payment_id in result.captures_resolved
        [(_, status, _)] = await _payments_of(engine, tenant.tenant_id)
        assert status == "captured"
        [capture] = await _captures_of(engine, tenant.tenant_id)
        assert capture.status == "succeeded"
        assert await _capture_entries(engine, tenant.tenant_id, payment_id) == 1
        # The client's key now replays the outcome.
        replayed = await client.post(path, headers=headers)
        assert replayed.status_code == 200, replayed.text
        assert replayed.headers["Idempotency-Replayed"] == "true"
        assert replayed.json()["status"] == "captured"
        assert replayed.json()["captured_amount"]["amount"] == 10_000
        again = await recover_in_flight(
            engine, runtime=_runtime(live_app), min_age_seconds=0, lookup_seconds=0
        )
        assert payment_id not in again.captures_resolved
        assert await _capture_entries(engine, tenant.tenant_id, payment_id) == 1
        at_provider = await _at_provider(live_app, tenant, provider, ppid)
        assert at_provider.captured_amount == 10_000


async def test_a_capture_the_provider_never_made_frees_the_key(
    live_app: FastAPI, engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    """A capture recorded but never sent (a crash before the call) is resolved by reading the
    payment at the provider: still uncaptured, so the capture is `not_found` and the client's
    key may capture again."""
    tenant: TenantContext = await make_live_tenant(engine)
    async with _client(live_app) as client, root_client(live_app, tenant) as root:
        payment = await _authorized(client, root, tenant, "stripe")
        payment_id = payment["id"]
        headers = tenant.with_idempotency()
        path = f"/payments/{payment_id}/capture"
        # The provider refuses the connection: the capture stays in flight (it may have
        # arrived), and only the lookup may say it did not.
        await set_faults(root, "stripe", unavailable=20)
        try:
            refused = await client.post(path, headers=headers)
        finally:
            await set_faults(root, "stripe")
        assert refused.status_code == 503, refused.text
        [capture] = await _captures_of(engine, tenant.tenant_id)
        assert capture.status == "in_flight"
        assert (await client.post(path, headers=headers)).status_code == 409

        result = await recover_in_flight(
            engine, runtime=_runtime(live_app), min_age_seconds=0, lookup_seconds=0
        )
        assert payment_id in result.captures_resolved
        [capture] = await _captures_of(engine, tenant.tenant_id)
        assert capture.status == "not_found"
        [(_, status, _)] = await _payments_of(engine, tenant.tenant_id)
        assert status == "authorized"
        captured = await client.post(path, headers=headers)
        assert captured.status_code == 200, captured.text
        assert "Idempotency-Replayed" not in captured.headers
        assert captured.json()["status"] == "captured"
    assert await _capture_entries(engine, tenant.tenant_id, payment_id) == 1


# --- refunds ----------------------------------------------------------------------------------

# Recovery reads the payment's refunded amount at the provider. Stripe, Razorpay and PayPal
# report partial refunds too; Paystack and Chapa report a payment refunded in full (so a
# full refund is found); Flutterwave's transaction carries no refunded amount, so its
# connector lists the transaction's refunds (`GET /v3/refunds?id=`) and reports their sum.
REFUND_FOUND = ("stripe", "razorpay", "paypal", "paystack", "chapa", "flutterwave")


async def _refunds_of(engine: AsyncEngine, tenant_id: str) -> list[Any]:
    return await _rows(
        engine,
        "SELECT id, status, provider_idempotency_key, idempotency_key, amount"
        " FROM payment_refunds WHERE tenant_id = :t ORDER BY created_at",
        t=tenant_id,
    )


async def _refund_entries(engine: AsyncEngine, tenant_id: str, refund_id: str) -> int:
    rows = await _rows(
        engine,
        "SELECT count(*) FROM ledger_entries WHERE tenant_id = :t"
        " AND metadata ->> 'refund_id' = :r",
        t=tenant_id,
        r=refund_id,
    )
    return int(rows[0][0])


async def _failed_refund(
    app: FastAPI, owner_engine: AsyncEngine, engine: AsyncEngine, provider: str
) -> tuple[TenantContext, dict[str, Any], dict[str, str], str]:
    """A captured payment whose full refund failed after the provider refunded."""
    tenant: TenantContext = await make_live_tenant(engine)
    async with _client(app) as client, root_client(app, tenant) as root:
        payment = await create_captured_payment(client, root, tenant, provider)
        headers = tenant.with_idempotency()
        body = {"payment_id": payment["id"]}
        async with failing_payment_updates(owner_engine, tenant.tenant_id, "payment_refunds"):
            failed = await client.post("/refunds", json=body, headers=headers)
            assert failed.status_code >= 500, failed.text
            # The refund committed before the call survived, its amount still reserved.
            [refund] = await _refunds_of(engine, tenant.tenant_id)
            assert (refund.status, refund.amount) == ("in_flight", 10_000)
            assert refund.provider_idempotency_key and refund.idempotency_key
            shown = await client.get(f"/refunds/{refund.id}", headers=tenant.headers)
            assert shown.json()["status"] == "pending"
            # A retry with the same key is the stored 409; the provider is not called again.
            retried = await client.post("/refunds", json=body, headers=headers)
            assert retried.status_code == 409, retried.text
            assert retried.headers["Idempotency-Replayed"] == "true"
            assert retried.json()["code"] == "refund_in_flight"
            assert retried.json()["refund_id"] == refund.id
            # Nothing is left to refund while the refund is in flight.
            other = await client.post("/refunds", json=body, headers=tenant.with_idempotency())
            assert other.status_code == 422, other.text
            assert other.json()["code"] == "refund_exceeds_captured"
        assert await _refund_entries(engine, tenant.tenant_id, refund.id) == 0
    return tenant, payment, headers, refund.id


@pytest.mark.parametrize("provider", REFUND_FOUND)
async def test_a_refund_failing_after_the_provider_acted_is_recovered_by_lookup(
    provider: str, live_app: FastAPI, engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    tenant, payment, headers, refund_id = await _failed_refund(
        live_app, owner_engine, engine, provider
    )
    ppid = payment["provider_payment_id"]
    assert (await _at_provider(live_app, tenant, provider, ppid)).refunded_amount == 10_000

    result = await recover_in_flight(
        engine, runtime=_runtime(live_app), min_age_seconds=0, lookup_seconds=0
    )
    assert refund_id in result.refunds_resolved
    [refund] = await _refunds_of(engine, tenant.tenant_id)
    assert refund.status == "succeeded"
    [(_, status, _)] = await _payments_of(engine, tenant.tenant_id)
    assert status == "refunded"
    assert await _refund_entries(engine, tenant.tenant_id, refund_id) == 1
    async with _client(live_app) as client:
        replayed = await client.post(
            "/refunds", json={"payment_id": payment["id"]}, headers=headers
        )
    assert replayed.status_code == 201, replayed.text
    assert replayed.headers["Idempotency-Replayed"] == "true"
    assert (replayed.json()["id"], replayed.json()["status"]) == (refund_id, "succeeded")
    again = await recover_in_flight(
        engine, runtime=_runtime(live_app), min_age_seconds=0, lookup_seconds=0
    )
    assert refund_id not in again.refunds_resolved
    assert await _refund_entries(engine, tenant.tenant_id, refund_id) == 1
    # Refunded once at the provider.
    assert (await _at_provider(live_app, tenant, provider, ppid)).refunded_amount == 10_000
    if provider == "flutterwave":
        # One refund at the sandbox, listed for the transaction as the provider lists it.
        connector = provider_side(live_app, sandbox_creds(live_app, tenant, provider))
        try:
            listed = await connector.refunds_of(ppid)
        finally:
            await connector.aclose()
        assert [(r.amount.amount, r.status.value) for r in listed] == [(10_000, "succeeded")]


# --- subscription changes ---------------------------------------------------------------------

# The providers whose sandbox subscriptions can be made here without a prior payment (Paystack
# subscribes a customer who has paid before).
SUBSCRIBING = {"stripe": "USD", "razorpay": "INR", "paypal": "USD"}


class _Counting(httpx.AsyncBaseTransport):
    """The app's provider transport, counting the requests that change a subscription."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.changes = 0
        self.creates = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method in ("POST", "DELETE") and "subscriptions/" in request.url.path:
            self.changes += 1
        if request.method == "POST" and request.url.path.endswith("/v1/subscriptions"):
            self.creates += 1
        return await self.inner.handle_async_request(request)


async def _subscription(client: httpx.AsyncClient, tenant: TenantContext, provider: str) -> Any:
    body: dict[str, Any] = {
        "provider": provider,
        "plan": {
            "name": "Pro monthly",
            "amount": {"amount": 1_500, "currency": SUBSCRIBING[provider]},
            "interval": "month",
        },
        "customer": {"email": "ada@example.com", "name": "Ada"},
    }
    if provider == "stripe":
        body["payment_method"] = "pm_card_visa"
    else:
        body["total_count"] = 12
    created = await client.post("/subscriptions", json=body, headers=tenant.with_idempotency())
    assert created.status_code == 201, created.text
    return created.json()


async def _changes_of(engine: AsyncEngine, tenant_id: str, *, creates: bool = False) -> list[Any]:
    """The tenant's subscription changes: the creates, or the changes after them."""
    return await _rows(
        engine,
        "SELECT id, action, status, provider_idempotency_key, idempotency_key"
        " FROM payment_subscription_changes WHERE tenant_id = :t"
        f" AND action {'=' if creates else '<>'} 'create' ORDER BY created_at",
        t=tenant_id,
    )


async def _subscription_at_provider(
    app: FastAPI, tenant: TenantContext, provider: str, psid: str
) -> Any:
    connector: Any = provider_side(app, sandbox_creds(app, tenant, provider))
    try:
        return await connector.get_subscription(psid)
    finally:
        await connector.aclose()


@pytest.mark.parametrize("provider", SUBSCRIBING)
async def test_a_cancel_failing_after_the_provider_acted_is_recovered_by_lookup(
    provider: str, live_app: FastAPI, engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    tenant: TenantContext = await make_live_tenant(engine)
    counting = _Counting(live_app.state.provider_transport)
    async with _client(live_app) as client, root_client(live_app, tenant) as root:
        sub = await _subscription(client, tenant, provider)
        sub_id, psid = sub["id"], sub["provider_subscription_id"]
        if provider == "paypal":
            # PayPal cancels only a subscription the subscriber approved.
            await pay_at_checkout(root, provider, sub["next_action"]["url"])
        headers = tenant.with_idempotency()
        live_app.state.provider_transport, inner = counting, live_app.state.provider_transport
        try:
            async with failing_payment_updates(
                owner_engine, tenant.tenant_id, "payment_subscriptions"
            ):
                failed = await client.delete(f"/subscriptions/{sub_id}", headers=headers)
                assert failed.status_code >= 500, failed.text
                assert counting.changes == 1
                # The change committed before the call survived the request's rollback...
                [change] = await _changes_of(engine, tenant.tenant_id)
                assert (change.action, change.status) == ("cancel", "in_flight")
                assert change.provider_idempotency_key and change.idempotency_key
                shown = await client.get(f"/subscriptions/{sub_id}", headers=tenant.headers)
                assert shown.json()["status"] == sub["status"]
                # ...while the provider cancelled.
                at_provider = await _subscription_at_provider(live_app, tenant, provider, psid)
                assert at_provider.status.value == "cancelled"
                # A retry with the same key is the stored 409; the provider is not called.
                retried = await client.delete(f"/subscriptions/{sub_id}", headers=headers)
                assert retried.status_code == 409, retried.text
                assert retried.headers["Idempotency-Replayed"] == "true"
                assert retried.json()["code"] == "subscription_in_flight"
                assert retried.json()["subscription_id"] == sub_id
                # Another change under another key is refused while one is in flight.
                other = await client.delete(
                    f"/subscriptions/{sub_id}", headers=tenant.with_idempotency()
                )
                assert other.status_code == 409, other.text
                assert other.json()["code"] == "subscription_in_flight"
                assert counting.changes == 1
        finally:
            live_app.state.provider_transport = inner

        result = await recover_in_flight(
            engine, runtime=_runtime(live_app), min_age_seconds=0, lookup_seconds=0
        )
        assert change.id in result.subscription_changes_resolved
        [change] = await _changes_of(engine, tenant.tenant_id)
        assert change.status == "succeeded"
        shown = await client.get(f"/subscriptions/{sub_id}", headers=tenant.headers)
        assert shown.json()["status"] == "cancelled"
        # The client's key now replays the outcome.
        replayed = await client.delete(f"/subscriptions/{sub_id}", headers=headers)
        assert replayed.status_code == 200, replayed.text
        assert replayed.headers["Idempotency-Replayed"] == "true"
        assert replayed.json()["status"] == "cancelled"
        again = await recover_in_flight(
            engine, runtime=_runtime(live_app), min_age_seconds=0, lookup_seconds=0
        )
        assert change.id not in again.subscription_changes_resolved
    assert counting.changes == 1
    # One subscription at the provider, cancelled.
    assert objects_mentioning(live_app, provider, sub_id, kind="subscription") == 1
    at_provider = await _subscription_at_provider(live_app, tenant, provider, psid)
    assert at_provider.status.value == "cancelled"


async def test_a_pause_the_provider_never_made_frees_the_key(
    live_app: FastAPI, engine: AsyncEngine
) -> None:
    """A pause refused at the connection stays in flight (it may have arrived); the lookup
    finds the subscription active, so the pause is `not_found` and the key may pause again."""
    tenant: TenantContext = await make_live_tenant(engine)
    async with _client(live_app) as client, root_client(live_app, tenant) as root:
        sub = await _subscription(client, tenant, "stripe")
        sub_id = sub["id"]
        headers = tenant.with_idempotency()
        path = f"/subscriptions/{sub_id}/pause"
        await set_faults(root, "stripe", unavailable=20)
        try:
            refused = await client.post(path, headers=headers)
        finally:
            await set_faults(root, "stripe")
        assert refused.status_code == 503, refused.text
        [change] = await _changes_of(engine, tenant.tenant_id)
        assert (change.action, change.status) == ("pause", "in_flight")
        assert (await client.post(path, headers=headers)).status_code == 409

        result = await recover_in_flight(
            engine, runtime=_runtime(live_app), min_age_seconds=0, lookup_seconds=0
        )
        assert change.id in result.subscription_changes_resolved
        [change] = await _changes_of(engine, tenant.tenant_id)
        assert change.status == "not_found"
        paused = await client.post(path, headers=headers)
        assert paused.status_code == 200, paused.text
        assert "Idempotency-Replayed" not in paused.headers
        assert paused.json()["status"] == "paused"


def _subscription_body(provider: str = "stripe") -> dict[str, Any]:
    body: dict[str, Any] = {
        "provider": provider,
        "plan": {
            "name": "Pro monthly",
            "amount": {"amount": 1_500, "currency": SUBSCRIBING[provider]},
            "interval": "month",
        },
        "customer": {"email": "ada@example.com", "name": "Ada"},
    }
    if provider == "stripe":
        body["payment_method"] = "pm_card_visa"
    else:
        body["total_count"] = 12
    return body


# The providers that look a subscription up by our reference (creation recorded before the
# call), and the status of the subscription made: Stripe charges the card at once, Razorpay
# waits for the customer's mandate.
LOOKED_UP = {"stripe": "active", "razorpay": "requires_action"}


async def _subscriptions_of(engine: AsyncEngine, tenant_id: str) -> list[Any]:
    return await _rows(
        engine,
        "SELECT id, status, provider_subscription_id FROM payment_subscriptions"
        " WHERE tenant_id = :t",
        t=tenant_id,
    )


@pytest.mark.parametrize("provider", LOOKED_UP)
async def test_a_subscription_create_failing_after_the_provider_made_it_is_recovered_by_lookup(
    provider: str, live_app: FastAPI, engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    tenant: TenantContext = await make_live_tenant(engine)
    body = _subscription_body(provider)
    headers = tenant.with_idempotency()
    counting = _Counting(live_app.state.provider_transport)
    live_app.state.provider_transport, inner = counting, live_app.state.provider_transport
    try:
        async with _client(live_app) as client:
            async with failing_payment_updates(
                owner_engine, tenant.tenant_id, "payment_subscriptions"
            ):
                failed = await client.post("/subscriptions", json=body, headers=headers)
                assert failed.status_code >= 500, failed.text
                assert counting.creates == 1
                # The record committed before the call survived the request's rollback...
                [(sub_id, status, psid)] = await _subscriptions_of(engine, tenant.tenant_id)
                assert (status, psid) == ("requires_action", None)
                [change] = await _changes_of(engine, tenant.tenant_id, creates=True)
                assert (change.action, change.status) == ("create", "in_flight")
                assert change.provider_idempotency_key and change.idempotency_key
                # ...while the provider made the subscription, carrying our reference.
                assert objects_mentioning(live_app, provider, sub_id, kind="subscription") == 1
                # A retry with the same key is the stored 409; the provider is not called.
                retried = await client.post("/subscriptions", json=body, headers=headers)
                assert retried.status_code == 409, retried.text
                assert retried.json()["code"] == "subscription_in_flight"
                assert retried.json()["subscription_id"] == sub_id
                # No change can be sent while the create is unresolved.
                other = await client.delete(
                    f"/subscriptions/{sub_id}", headers=tenant.with_idempotency()
                )
                assert other.status_code == 409, other.text
                assert counting.creates == 1 and counting.changes == 0

            result = await recover_in_flight(
                engine, runtime=_runtime(live_app), min_age_seconds=0, lookup_seconds=0
            )
            assert change.id in result.subscription_changes_resolved
            [change] = await _changes_of(engine, tenant.tenant_id, creates=True)
            assert change.status == "succeeded"
            [(_, status, psid)] = await _subscriptions_of(engine, tenant.tenant_id)
            assert psid is not None
            at_provider = await _subscription_at_provider(live_app, tenant, provider, psid)
            assert status == at_provider.status.value == LOOKED_UP[provider]
            # The client's key now replays the outcome.
            replayed = await client.post("/subscriptions", json=body, headers=headers)
            assert replayed.status_code == 201, replayed.text
            assert replayed.headers["Idempotency-Replayed"] == "true"
            assert replayed.json()["id"] == sub_id
            assert replayed.json()["provider_subscription_id"] == psid
            assert replayed.json()["status"] == status
            again = await recover_in_flight(
                engine, runtime=_runtime(live_app), min_age_seconds=0, lookup_seconds=0
            )
            assert change.id not in again.subscription_changes_resolved
    finally:
        live_app.state.provider_transport = inner
    assert counting.creates == 1
    assert objects_mentioning(live_app, provider, sub_id, kind="subscription") == 1


async def test_a_subscription_create_stripe_never_made_frees_the_key(
    live_app: FastAPI, engine: AsyncEngine
) -> None:
    """A create refused at the connection stays in flight (it may have arrived); the lookup
    finds nothing, so the subscription is removed and the same key creates it."""
    tenant: TenantContext = await make_live_tenant(engine)
    body = _subscription_body()
    headers = tenant.with_idempotency()
    async with _client(live_app) as client, root_client(live_app, tenant) as root:
        await set_faults(root, "stripe", unavailable=20)
        try:
            refused = await client.post("/subscriptions", json=body, headers=headers)
        finally:
            await set_faults(root, "stripe")
        assert refused.status_code == 503, refused.text
        [(sub_id, _, _)] = await _subscriptions_of(engine, tenant.tenant_id)
        [change] = await _changes_of(engine, tenant.tenant_id, creates=True)
        assert (change.action, change.status) == ("create", "in_flight")
        assert (await client.post("/subscriptions", json=body, headers=headers)).status_code == 409

        result = await recover_in_flight(
            engine, runtime=_runtime(live_app), min_age_seconds=0, lookup_seconds=0
        )
        assert change.id in result.subscription_changes_resolved
        [change] = await _changes_of(engine, tenant.tenant_id, creates=True)
        assert change.status == "not_found"
        assert await _subscriptions_of(engine, tenant.tenant_id) == []
        created = await client.post("/subscriptions", json=body, headers=headers)
        assert created.status_code == 201, created.text
        assert "Idempotency-Replayed" not in created.headers
        assert created.json()["status"] == "active"
    assert objects_mentioning(live_app, "stripe", sub_id, kind="subscription") == 0
