"""The unified payments API against every provider's sandbox (acceptance check 3 and the
request side of the API)."""

from __future__ import annotations

import uuid
from collections import defaultdict

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.models import AuditLog
from moneyrail.auth.roles import Role
from moneyrail.connectors import registry
from moneyrail.core.models import OutboxEvent
from moneyrail.core.money import Money
from moneyrail.ledger.service import ledger
from moneyrail.ledger.types import AccountKind
from moneyrail.payments import ledger_postings
from tests.conftest import problem
from tests.factories import TenantContext, add_api_key, make_tenant
from tests.payments.helpers import (
    CURRENCY,
    PROVIDERS,
    create_captured_payment,
    payment_body,
    root_client,
    sandbox_creds,
)


async def _balance(
    session: AsyncSession, tenant_id: str, code: str, currency: str, kind: AccountKind
) -> int:
    account = await ledger.system_account(
        session, tenant_id=tenant_id, code=code, name=code, currency=currency, kind=kind
    )
    return (await ledger.balances(session, tenant_id=tenant_id, account_id=account.id)).posted


async def _refund(
    client: httpx.AsyncClient,
    tenant: TenantContext,
    payment_id: str,
    amount: int | None,
    currency: str,
) -> dict:
    body: dict = {"payment_id": payment_id, "reason": "requested_by_customer"}
    if amount is not None:
        body["amount"] = {"amount": amount, "currency": currency}
    response = await client.post("/refunds", json=body, headers=tenant.with_idempotency())
    assert response.status_code == 201, response.text
    return response.json()


async def test_every_provider_captures_refunds_and_the_ledger_agrees(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Acceptance 3: each sandbox takes a payment to `captured`; a partial then a full refund
    follow; the ledger's balances equal captures minus refunds, per provider and currency."""
    tenant = await make_tenant(session)
    captured: dict[tuple[str, str], int] = defaultdict(int)
    refunded: dict[tuple[str, str], int] = defaultdict(int)
    async with root_client(app, tenant) as root:
        for provider in PROVIDERS:
            currency = CURRENCY[provider]
            kept = await create_captured_payment(client, root, tenant, provider, amount=25_000)
            refunded_one = await create_captured_payment(client, root, tenant, provider, 10_000)
            captured[provider, currency] += 35_000

            partial = await _refund(client, tenant, refunded_one["id"], 3_000, currency)
            rest = await _refund(client, tenant, refunded_one["id"], None, currency)
            assert rest["amount"] == {"amount": 7_000, "currency": currency}
            # Refunds some providers settle later are settled by asking them (verify).
            verified = await client.post(
                f"/payments/{refunded_one['id']}/verify", headers=tenant.with_idempotency()
            )
            assert verified.status_code == 200, verified.text
            assert verified.json()["status"] == "refunded", (provider, verified.json())
            assert verified.json()["refunded_amount"]["amount"] == 10_000
            for refund in (partial, rest):
                shown = await client.get(f"/refunds/{refund['id']}", headers=tenant.headers)
                assert shown.json()["status"] == "succeeded", (provider, shown.json())
            refunded[provider, currency] += 10_000
            assert (await client.get(f"/payments/{kept['id']}", headers=tenant.headers)).json()[
                "status"
            ] == "captured"

    funds: dict[str, int] = defaultdict(int)
    for (provider, currency), amount in captured.items():
        net = amount - refunded[provider, currency]
        funds[currency] += net
        receivable = await _balance(
            session,
            tenant.tenant_id,
            ledger_postings.receivable_code(provider, currency),
            currency,
            AccountKind.asset,
        )
        fees = await _balance(
            session,
            tenant.tenant_id,
            ledger_postings.fees_code(provider, currency),
            currency,
            AccountKind.expense,
        )
        assert receivable + fees == net, (provider, receivable, fees, net)
    for currency, net in funds.items():
        assert (
            await _balance(
                session,
                tenant.tenant_id,
                ledger_postings.customer_funds_code(currency),
                currency,
                AccountKind.liability,
            )
            == net
        )


async def test_create_requires_an_idempotency_key_and_replays_it(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    body = payment_body("stripe")
    problem(
        await client.post("/payments", json=body, headers=tenant.headers),
        400,
        "idempotency_key_required",
    )
    headers = tenant.with_idempotency()
    first = await client.post("/payments", json=body, headers=headers)
    again = await client.post("/payments", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotency-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    problem(
        await client.post("/payments", json={**body, "description": "other"}, headers=headers),
        422,
        "idempotency_key_reused",
    )
    listed = await client.get("/payments", headers=tenant.headers)
    assert [p["id"] for p in listed.json()["data"]] == [first.json()["id"]]
    created = first.json()
    assert created["provider"] == "stripe" and created["provider_payment_id"].startswith("pi_")
    assert created["attempts"] == [
        {"provider": "stripe", "outcome": "accepted", "error_code": None}
    ]


async def test_list_filters_and_cursor_pages(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    ids = []
    for amount in (1_000, 2_000, 3_000):
        response = await client.post(
            "/payments", json=payment_body("stripe", amount), headers=tenant.with_idempotency()
        )
        ids.append(response.json()["id"])
    await client.post(
        "/payments", json=payment_body("razorpay", 500), headers=tenant.with_idempotency()
    )
    page = await client.get(
        "/payments", params={"provider": "stripe", "limit": 2}, headers=tenant.headers
    )
    assert [p["id"] for p in page.json()["data"]] == ids[::-1][:2]
    rest = await client.get(
        "/payments",
        params={"provider": "stripe", "limit": 2, "cursor": page.json()["next_cursor"]},
        headers=tenant.headers,
    )
    assert [p["id"] for p in rest.json()["data"]] == [ids[0]]
    assert rest.json()["next_cursor"] is None
    pending = await client.get(
        "/payments", params={"status": "requires_action", "currency": "INR"}, headers=tenant.headers
    )
    assert [p["provider"] for p in pending.json()["data"]] == ["razorpay"]
    assert pending.json()["data"][0]["next_action"]["type"] == "redirect"


async def test_tenants_do_not_see_each_others_payments(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    owner = await make_tenant(session)
    created = await client.post(
        "/payments", json=payment_body("stripe"), headers=owner.with_idempotency()
    )
    other = await make_tenant(session)
    problem(await client.get(f"/payments/{created.json()['id']}", headers=other.headers), 404)
    problem(
        await client.post(
            "/refunds",
            json={"payment_id": created.json()["id"]},
            headers=other.with_idempotency(),
        ),
        404,
    )
    assert (await client.get("/payments", headers=other.headers)).json()["data"] == []


async def test_viewer_reads_but_cannot_pay(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    viewer = await add_api_key(session, tenant, role=Role.viewer)
    problem(
        await client.post(
            "/payments", json=payment_body("stripe"), headers=viewer.with_idempotency()
        ),
        403,
    )
    assert (await client.get("/payments", headers=viewer.headers)).status_code == 200


async def test_manual_capture_of_part_of_an_authorization(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    created = await client.post(
        "/payments",
        json=payment_body("stripe", 10_000, capture="manual"),
        headers=tenant.with_idempotency(),
    )
    payment = created.json()
    assert payment["status"] == "authorized"
    problem(
        await client.post(
            "/refunds", json={"payment_id": payment["id"]}, headers=tenant.with_idempotency()
        ),
        409,
        "payment_not_refundable",
    )
    problem(
        await client.post(
            f"/payments/{payment['id']}/capture",
            json={"amount": {"amount": 20_000, "currency": "USD"}},
            headers=tenant.with_idempotency(),
        ),
        422,
        "capture_exceeds_authorized",
    )
    captured = await client.post(
        f"/payments/{payment['id']}/capture",
        json={"amount": {"amount": 6_000, "currency": "USD"}},
        headers=tenant.with_idempotency(),
    )
    assert captured.status_code == 200, captured.text
    assert captured.json()["status"] == "captured"
    assert captured.json()["captured_amount"]["amount"] == 6_000
    problem(
        await client.post(
            "/refunds",
            json={"payment_id": payment["id"], "amount": {"amount": 6_001, "currency": "USD"}},
            headers=tenant.with_idempotency(),
        ),
        422,
        "refund_exceeds_captured",
    )


async def test_cancel_before_capture_and_not_after(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    authorized = await client.post(
        "/payments",
        json=payment_body("stripe", capture="manual"),
        headers=tenant.with_idempotency(),
    )
    cancelled = await client.post(
        f"/payments/{authorized.json()['id']}/cancel", headers=tenant.with_idempotency()
    )
    assert cancelled.json()["status"] == "cancelled"
    captured = await client.post(
        "/payments", json=payment_body("stripe"), headers=tenant.with_idempotency()
    )
    problem(
        await client.post(
            f"/payments/{captured.json()['id']}/cancel", headers=tenant.with_idempotency()
        ),
        409,
        "payment_not_cancellable",
    )


async def test_the_provider_refuses_what_it_already_refunded(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Our own check passes (we never heard of the refund made at the provider), so the
    provider's refusal is what stops the over-refund; nothing is recorded."""
    tenant = await make_tenant(session)
    created = await client.post(
        "/payments", json=payment_body("stripe", 5_000), headers=tenant.with_idempotency()
    )
    payment = created.json()
    connector = registry.payment_connector(
        "stripe",
        sandbox_creds(app, tenant, "stripe"),
        transport=app.state.provider_transport,
    )
    try:
        await connector.refund(
            payment["provider_payment_id"],
            amount=Money(4_000, "USD"),
            idempotency_key=uuid.uuid4().hex,
        )
    finally:
        await connector.aclose()
    refused = await client.post(
        "/refunds", json={"payment_id": payment["id"]}, headers=tenant.with_idempotency()
    )
    problem(refused, 422, "provider_declined")
    shown = (await client.get(f"/payments/{payment['id']}", headers=tenant.headers)).json()
    assert shown["status"] == "captured" and shown["refunded_amount"]["amount"] == 0


async def test_each_transition_is_audited_and_emitted(
    client: httpx.AsyncClient, session: AsyncSession, system_session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    created = await client.post(
        "/payments", json=payment_body("stripe", 2_000), headers=tenant.with_idempotency()
    )
    payment_id = created.json()["id"]
    refund = await _refund(client, tenant, payment_id, None, "USD")
    events = (
        await system_session.scalars(
            select(OutboxEvent.type)
            .where(OutboxEvent.tenant_id == tenant.tenant_id)
            .order_by(OutboxEvent.seq)
        )
    ).all()
    payment_events = [e for e in events if e.startswith(("payment.", "refund."))]
    assert payment_events == [
        "payment.created",
        "payment.captured",
        "refund.created",
        "refund.succeeded",
        "payment.refunded",
    ]
    await system_session.flush()
    actions = (
        await system_session.scalars(
            select(AuditLog.action).where(
                AuditLog.tenant_id == tenant.tenant_id,
                AuditLog.target_id.in_([payment_id, refund["id"]]),
            )
        )
    ).all()
    # Audit rows are appended when the request's transaction commits.
    assert {
        "payments.payment.created",
        "payments.payment.captured",
        "payments.refund.succeeded",
    } <= set(actions)


@pytest.mark.parametrize("currency", ["ETB", "INR"])
async def test_routing_without_rules_uses_the_builtin_order(
    client: httpx.AsyncClient, session: AsyncSession, currency: str
) -> None:
    tenant = await make_tenant(session)
    body = {
        "amount": {"amount": 5_000, "currency": currency},
        "customer": {"email": "ada@example.com"},
    }
    created = await client.post("/payments", json=body, headers=tenant.with_idempotency())
    assert created.status_code == 201, created.text
    assert created.json()["provider"] == {"ETB": "chapa", "INR": "razorpay"}[currency]


async def test_routing_rules_round_trip_and_validation(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    rules = {
        "rules": [
            {"currency": "USD", "amount_max": 5_000, "providers": ["paypal", "stripe"]},
            {"country": "NG", "method": "card", "providers": ["flutterwave"]},
        ],
        "default": ["stripe"],
    }
    saved = await client.put("/routing/rules", json=rules, headers=tenant.headers)
    assert saved.status_code == 200, saved.text
    shown = (await client.get("/routing/rules", headers=tenant.headers)).json()
    assert shown["rules"][0]["providers"] == ["paypal", "stripe"]
    assert shown["default"] == ["stripe"]
    small = await client.post(
        "/payments",
        json={"amount": {"amount": 4_000, "currency": "USD"}},
        headers=tenant.with_idempotency(),
    )
    assert small.json()["provider"] == "paypal"
    big = await client.post(
        "/payments",
        json={"amount": {"amount": 9_000, "currency": "USD"}, "payment_method": "pm_card_visa"},
        headers=tenant.with_idempotency(),
    )
    assert big.json()["provider"] == "stripe"
    bad = await client.put(
        "/routing/rules",
        json={"rules": [{"amount_min": 9, "amount_max": 1, "providers": ["nope"]}]},
        headers=tenant.headers,
    )
    errors = problem(bad, 422, "validation_error")["errors"]
    assert {e["field"] for e in errors} >= {"rules.0.providers.0"}


async def test_outbox_counts_one_capture_per_payment(
    client: httpx.AsyncClient, session: AsyncSession, system_session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    created = await client.post(
        "/payments", json=payment_body("stripe"), headers=tenant.with_idempotency()
    )
    for _ in range(3):
        await client.post(
            f"/payments/{created.json()['id']}/verify", headers=tenant.with_idempotency()
        )
    count = await system_session.scalar(
        select(func.count()).where(
            OutboxEvent.tenant_id == tenant.tenant_id, OutboxEvent.type == "payment.captured"
        )
    )
    assert count == 1
