"""Concurrency through the real app with real commits: limits and exactly-once hold under races."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from moneyrail.core.db import set_tenant
from moneyrail.core.models import OutboxEvent
from moneyrail.ledger.models import LedgerEntry, LedgerPosting
from tests.conftest import problem
from tests.factories import TenantContext, make_live_tenant
from tests.ledger.helpers import assert_cached_match_postings


async def _open(
    client: httpx.AsyncClient, tenant: TenantContext, kind: str, limit: dict[str, Any]
) -> str:
    response = await client.post(
        "/ledger/accounts",
        json={
            "code": f"acct:{uuid.uuid4().hex[:8]}",
            "name": "Account",
            "currency": "INR",
            "kind": kind,
            "balance_limit": limit,
        },
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    account_id: str = response.json()["id"]
    return account_id


async def _post(
    client: httpx.AsyncClient,
    tenant: TenantContext,
    debit: str,
    credit: str,
    amount: int,
    transfer_id: str,
) -> httpx.Response:
    return await client.post(
        "/ledger/transfers",
        json={
            "id": transfer_id,
            "debit_account_id": debit,
            "credit_account_id": credit,
            "amount": {"amount": amount, "currency": "INR"},
        },
        headers=tenant.headers,
    )


async def _withdraw_race(
    client: httpx.AsyncClient, engine: AsyncEngine, limit: dict[str, Any]
) -> tuple[int, int]:
    """Fund 100, then 50 concurrent debits of 30; returns (successes, final balance)."""
    tenant = await make_live_tenant(engine)
    vault = await _open(client, tenant, "asset", {"type": "none"})
    customer = await _open(client, tenant, "liability", limit)
    assert (await _post(client, tenant, vault, customer, 100, "fund")).status_code == 201
    responses = await asyncio.gather(
        *(_post(client, tenant, customer, vault, 30, f"wd:{n}") for n in range(50))
    )
    ok = [r for r in responses if r.status_code == 201]
    for refused in (r for r in responses if r.status_code != 201):
        problem(refused, 422, "insufficient_funds")
    account = await client.get(f"/ledger/accounts/{customer}", headers=tenant.headers)
    async with AsyncSession(engine) as session, session.begin():
        await assert_cached_match_postings(session, tenant.tenant_id)
    return len(ok), int(account.json()["posted"])


async def test_concurrent_withdrawals_respect_non_negative_limit(
    live_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    assert await _withdraw_race(live_client, engine, {"type": "non_negative"}) == (3, 10)


async def test_concurrent_withdrawals_respect_overdraft(
    live_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    # An overdraft of L keeps the balance above -L, so from 100 with L = 50 four debits of
    # 30 fit (-20; a fifth would reach -50) and with L = 51 five (-50).
    assert await _withdraw_race(live_client, engine, {"type": "overdraft", "limit": 50}) == (
        4,
        -20,
    )
    assert await _withdraw_race(live_client, engine, {"type": "overdraft", "limit": 51}) == (
        5,
        -50,
    )


async def test_same_transfer_id_hundred_times_concurrently(
    live_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_live_tenant(engine)
    vault = await _open(live_client, tenant, "asset", {"type": "none"})
    customer = await _open(live_client, tenant, "liability", {"type": "non_negative"})
    responses = await asyncio.gather(
        *(_post(live_client, tenant, vault, customer, 500, "dep:once") for _ in range(100))
    )
    assert {r.status_code for r in responses} == {201}, {r.text for r in responses}
    assert len({r.text for r in responses}) == 1
    async with AsyncSession(engine) as session, session.begin():
        await set_tenant(session, tenant.tenant_id)
        entries = await session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.id == "dep:once")
        )
        postings = await session.scalar(
            select(func.count())
            .select_from(LedgerPosting)
            .where(LedgerPosting.entry_id == "dep:once")
        )
        events = await session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.tenant_id == tenant.tenant_id, OutboxEvent.type == "transfer.posted")
        )
        assert (entries, postings, events) == (1, 2, 1)
        await assert_cached_match_postings(session, tenant.tenant_id)
    account = await live_client.get(f"/ledger/accounts/{customer}", headers=tenant.headers)
    assert account.json()["posted"] == 500


async def test_same_idempotency_key_concurrently_moves_money_once(
    live_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_live_tenant(engine)
    vault = await _open(live_client, tenant, "asset", {"type": "none"})
    customer = await _open(live_client, tenant, "liability", {"type": "non_negative"})
    body = {
        "debit_account_id": vault,
        "credit_account_id": customer,
        "amount": {"amount": 700, "currency": "INR"},
    }
    headers = tenant.with_idempotency("same-key")
    responses = await asyncio.gather(
        *(live_client.post("/ledger/transfers", json=body, headers=headers) for _ in range(30))
    )
    created = [r for r in responses if r.status_code == 201]
    for busy in (r for r in responses if r.status_code != 201):
        problem(busy, 409, "idempotency_key_in_use")
    assert len({r.json()["id"] for r in created}) == 1
    account = await live_client.get(f"/ledger/accounts/{customer}", headers=tenant.headers)
    assert account.json()["posted"] == 700


async def test_concurrent_post_and_void_resolve_a_hold_once(
    live_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_live_tenant(engine)
    vault = await _open(live_client, tenant, "asset", {"type": "none"})
    customer = await _open(live_client, tenant, "liability", {"type": "non_negative"})
    assert (await _post(live_client, tenant, vault, customer, 100, "fund")).status_code == 201
    hold = await live_client.post(
        "/ledger/transfers",
        json={
            "id": "hold",
            "debit_account_id": customer,
            "credit_account_id": vault,
            "amount": {"amount": 80, "currency": "INR"},
            "pending": True,
        },
        headers=tenant.headers,
    )
    assert hold.status_code == 201
    calls = [
        live_client.post(f"/ledger/transfers/hold/{action}", headers=tenant.headers)
        for action in ("post", "void") * 10
    ]
    responses = await asyncio.gather(*calls)
    statuses = {r.json()["status"] for r in responses if r.status_code == 200}
    assert len(statuses) == 1, statuses
    for refused in (r for r in responses if r.status_code != 200):
        assert refused.json()["code"] in (
            "pending_transfer_already_posted",
            "pending_transfer_already_voided",
        )
    account = (await live_client.get(f"/ledger/accounts/{customer}", headers=tenant.headers)).json()
    assert account["pending"] == 0
    assert account["posted"] == (20 if statuses == {"posted"} else 100)
    async with AsyncSession(engine) as session, session.begin():
        await assert_cached_match_postings(session, tenant.tenant_id)


async def test_expiry_job_voids_holds_whose_timeout_passed(
    live_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    from moneyrail.ledger.tasks import expire_pending

    tenant = await make_live_tenant(engine)
    vault = await _open(live_client, tenant, "asset", {"type": "none"})
    customer = await _open(live_client, tenant, "liability", {"type": "non_negative"})
    assert (await _post(live_client, tenant, vault, customer, 100, "fund")).status_code == 201
    for transfer_id, timeout in (("short", 1), ("long", 3600)):
        response = await live_client.post(
            "/ledger/transfers",
            json={
                "id": transfer_id,
                "debit_account_id": customer,
                "credit_account_id": vault,
                "amount": {"amount": 30, "currency": "INR"},
                "pending": True,
                "timeout_seconds": timeout,
            },
            headers=tenant.headers,
        )
        assert response.status_code == 201
    await asyncio.sleep(1.2)
    assert await expire_pending(engine) >= 1
    short = await live_client.get("/ledger/transfers/short", headers=tenant.headers)
    long = await live_client.get("/ledger/transfers/long", headers=tenant.headers)
    assert (short.json()["status"], long.json()["status"]) == ("expired", "pending")
    account = await live_client.get(f"/ledger/accounts/{customer}", headers=tenant.headers)
    assert account.json()["available"] == 70


async def test_concurrent_batches_sharing_ids_create_each_once(
    live_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_live_tenant(engine)
    vault = await _open(live_client, tenant, "asset", {"type": "none"})
    customers = [
        await _open(live_client, tenant, "liability", {"type": "non_negative"}) for _ in range(4)
    ]

    def item(transfer_id: str, n: int) -> dict[str, Any]:
        return {
            "id": transfer_id,
            "debit_account_id": vault,
            "credit_account_id": customers[n % 4],
            "amount": {"amount": 10 + n, "currency": "INR"},
        }

    shared = [item(f"shared:{n}", n) for n in range(20)]
    batches = [[*shared, *(item(f"own:{b}:{n}", n) for n in range(5))] for b in range(6)]
    responses = await asyncio.gather(
        *(
            live_client.post(
                "/ledger/transfers/batch", json={"transfers": batch}, headers=tenant.headers
            )
            for batch in batches
        )
    )
    created: dict[str, int] = {}
    for response in responses:
        assert response.status_code == 200, response.text
        for result in response.json()["results"]:
            assert result["status"] in ("created", "exists"), result
            if result["status"] == "created":
                created[result["id"]] = created.get(result["id"], 0) + 1
    assert all(created.get(f"shared:{n}") == 1 for n in range(20)), created
    assert len(created) == 20 + 6 * 5
    expected = sum(10 + n for n in range(20)) + 6 * sum(10 + n for n in range(5))
    balances = [
        (await live_client.get(f"/ledger/accounts/{c}", headers=tenant.headers)).json()["posted"]
        for c in customers
    ]
    assert sum(balances) == expected
    async with AsyncSession(engine) as session, session.begin():
        await assert_cached_match_postings(session, tenant.tenant_id)
