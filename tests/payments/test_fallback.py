"""Routing fallback and ambiguous timeouts (acceptance check 4)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from moneyrail.core.models import OutboxEvent
from moneyrail.core.settings import Settings
from moneyrail.ledger.service import ledger
from moneyrail.ledger.types import AccountKind
from moneyrail.payments import ledger_postings
from moneyrail.payments.providers import ProviderRuntime
from moneyrail.payments.tasks import poll_processing_payments
from tests.conftest import problem
from tests.factories import make_live_tenant, make_tenant
from tests.payments.helpers import objects_mentioning, payment_body, root_client, set_faults

USD = {"amount": {"amount": 4_200, "currency": "USD"}, "payment_method": "pm_card_visa"}


async def test_refused_provider_falls_back_and_the_next_charges_once(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    await client.put(
        "/routing/rules",
        json={"rules": [], "default": ["stripe", "paypal"]},
        headers=tenant.headers,
    )
    async with root_client(app, tenant) as root:
        # Stripe answers 503 before taking anything, however often it is retried.
        await set_faults(root, "stripe", unavailable=20)
        headers = tenant.with_idempotency()
        created = await client.post("/payments", json=USD, headers=headers)
        replayed = await client.post("/payments", json=USD, headers=headers)
        await set_faults(root, "stripe")
    assert created.status_code == 201, created.text
    payment = created.json()
    assert payment["provider"] == "paypal"
    assert payment["attempts"] == [
        {"provider": "stripe", "outcome": "unavailable", "error_code": "provider_unavailable"},
        {"provider": "paypal", "outcome": "accepted", "error_code": None},
    ]
    assert replayed.json()["id"] == payment["id"]
    assert objects_mentioning(app, "stripe", payment["id"], kind="payment_intent") == 0
    assert objects_mentioning(app, "paypal", payment["id"], kind="order") == 1


async def test_every_provider_refusing_leaves_nothing(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    async with root_client(app, tenant) as root:
        await set_faults(root, "stripe", unavailable=20)
        refused = await client.post(
            "/payments", json={**USD, "provider": "stripe"}, headers=tenant.with_idempotency()
        )
    problem(refused, 503, "all_providers_unavailable")
    assert (await client.get("/payments", headers=tenant.headers)).json()["data"] == []


async def test_timeout_after_accepting_is_resolved_by_verify(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    app.state.provider_deadline_seconds = 0.3
    async with root_client(app, tenant) as root:
        # Stripe makes the charge, then its answer is lost past our deadline.
        await set_faults(root, "stripe", slow=1, delay_seconds=1.0, after=True)
        created = await client.post(
            "/payments", json={**USD, "provider": "stripe"}, headers=tenant.with_idempotency()
        )
    payment = created.json()
    assert created.status_code == 201, created.text
    assert (payment["status"], payment["provider"], payment["provider_payment_id"]) == (
        "processing",
        "stripe",
        None,
    )
    assert payment["attempts"][0]["outcome"] == "timeout"
    verified = await client.post(
        f"/payments/{payment['id']}/verify", headers=tenant.with_idempotency()
    )
    assert verified.json()["status"] == "captured", verified.text
    assert objects_mentioning(app, "stripe", payment["id"], kind="payment_intent") == 1


async def test_timeout_after_accepting_is_resolved_by_polling_without_a_second_charge(
    live_app: FastAPI,
    live_client: httpx.AsyncClient,
    engine: AsyncEngine,
    settings: Settings,
) -> None:
    tenant = await make_live_tenant(engine)
    live_app.state.provider_deadline_seconds = 0.3
    async with root_client(live_app, tenant) as root:
        await set_faults(root, "stripe", slow=1, delay_seconds=1.0, after=True)
        created = await live_client.post(
            "/payments", json={**USD, "provider": "stripe"}, headers=tenant.with_idempotency()
        )
    payment = created.json()
    assert payment["status"] == "processing", created.text
    runtime = ProviderRuntime.from_settings(
        settings, sandbox_transport=live_app.state.provider_transport
    )
    # Still unanswerable: the payment stays processing, nothing else happens.
    async with root_client(live_app, tenant) as root:
        await set_faults(root, "stripe", unavailable=20)
        waiting = await poll_processing_payments(engine, runtime=runtime, min_age_seconds=0)
        await set_faults(root, "stripe")
    assert payment["id"] not in waiting.resolved
    polled = await poll_processing_payments(engine, runtime=runtime, min_age_seconds=0)
    assert payment["id"] in polled.resolved
    again = await poll_processing_payments(engine, runtime=runtime, min_age_seconds=0)
    assert payment["id"] not in again.resolved

    shown = (await live_client.get(f"/payments/{payment['id']}", headers=tenant.headers)).json()
    assert shown["status"] == "captured"
    assert shown["provider_payment_id"].startswith("pi_")
    assert objects_mentioning(live_app, "stripe", payment["id"], kind="payment_intent") == 1
    async with AsyncSession(engine) as session, session.begin():
        from moneyrail.core.db import set_tenant

        await set_tenant(session, tenant.tenant_id)
        captures = await session.scalar(
            select(func.count()).where(
                OutboxEvent.tenant_id == tenant.tenant_id, OutboxEvent.type == "payment.captured"
            )
        )
        account = await ledger.system_account(
            session,
            tenant_id=tenant.tenant_id,
            code=ledger_postings.customer_funds_code("USD"),
            name="funds",
            currency="USD",
            kind=AccountKind.liability,
        )
        balance = await ledger.balances(session, tenant_id=tenant.tenant_id, account_id=account.id)
    assert captures == 1
    assert balance.posted == 4_200


async def test_a_payment_body_for_each_field(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    bad = await client.post(
        "/payments",
        json={
            "amount": {"amount": -5, "currency": "XXQ"},
            "capture": "later",
            "return_url": "javascript:alert(1)",
        },
        headers=tenant.with_idempotency(),
    )
    fields = {e["field"] for e in problem(bad, 422, "validation_error")["errors"]}
    assert {"amount.amount", "amount.currency", "capture", "return_url"} <= fields
    assert payment_body("stripe")["amount"]["currency"] == "USD"


def test_the_poll_command_runs_one_pass(database_url: str) -> None:
    import os

    from typer.testing import CliRunner

    from moneyrail.cli import app as cli
    from moneyrail.core.settings import get_settings

    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = database_url
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["payments", "poll", "--limit", "10"])
    finally:
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert result.output.startswith("checked ")
