"""The ledger HTTP API (each test inside a rolled-back transaction)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.models import AuditLog
from moneyrail.auth.roles import Role
from moneyrail.core.db import bypass_tenant_scope
from moneyrail.core.models import OutboxEvent
from moneyrail.ledger.service import ledger
from tests.conftest import problem
from tests.factories import TenantContext, add_api_key, make_tenant
from tests.ledger.helpers import assert_cached_match_postings


async def _account(
    client: httpx.AsyncClient,
    tenant: TenantContext,
    *,
    kind: str = "liability",
    limit: dict[str, Any] | None = None,
    currency: str = "INR",
) -> dict[str, Any]:
    response = await client.post(
        "/ledger/accounts",
        json={
            "code": f"acct:{uuid.uuid4().hex[:8]}",
            "name": "Account",
            "currency": currency,
            "kind": kind,
            "balance_limit": limit or {"type": "non_negative"},
        },
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _transfer(
    client: httpx.AsyncClient,
    tenant: TenantContext,
    debit: str,
    credit: str,
    amount: int,
    **extra: Any,
) -> httpx.Response:
    body = {
        "id": extra.pop("id", uuid.uuid4().hex),
        "debit_account_id": debit,
        "credit_account_id": credit,
        "amount": {"amount": amount, "currency": extra.pop("currency", "INR")},
        **extra,
    }
    return await client.post("/ledger/transfers", json=body, headers=tenant.headers)


async def _setup(client: httpx.AsyncClient, tenant: TenantContext) -> tuple[str, str]:
    """A vault (asset, no limit) and a customer (liability, non-negative) holding 1,000."""
    vault = await _account(client, tenant, kind="asset", limit={"type": "none"})
    customer = await _account(client, tenant)
    funded = await _transfer(client, tenant, vault["id"], customer["id"], 1_000)
    assert funded.status_code == 201, funded.text
    return vault["id"], customer["id"]


async def test_accounts_and_balances(client: httpx.AsyncClient, session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    _vault, customer = await _setup(client, tenant)
    body = (await client.get(f"/ledger/accounts/{customer}", headers=tenant.headers)).json()
    assert (body["posted"], body["pending"], body["available"]) == (1_000, 0, 1_000)
    assert body["balance_limit"] == {"type": "non_negative", "limit": None}
    dup = await client.post(
        "/ledger/accounts",
        json={"code": body["code"], "name": "x", "currency": "INR", "kind": "asset"},
        headers=tenant.headers,
    )
    problem(dup, 409, "account_code_exists")
    bad = await client.post(
        "/ledger/accounts",
        json={
            "code": "c",
            "name": "x",
            "currency": "INR",
            "kind": "asset",
            "balance_limit": {"type": "overdraft"},
        },
        headers=tenant.headers,
    )
    problem(bad, 422, "validation_error")


async def test_transfer_exactly_once_and_refusals(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    vault, customer = await _setup(client, tenant)
    first = await _transfer(client, tenant, customer, vault, 300, id="wd:1")
    assert first.status_code == 201 and first.json()["status"] == "posted"
    again = await _transfer(client, tenant, customer, vault, 300, id="wd:1")
    assert again.json() == first.json()
    problem(
        await _transfer(client, tenant, customer, vault, 301, id="wd:1"),
        409,
        "transfer_exists_with_different_fields",
    )
    short = problem(
        await _transfer(client, tenant, customer, vault, 701), 422, "insufficient_funds"
    )
    assert short["account_ids"] == [customer]
    problem(
        await _transfer(client, tenant, customer, vault, 1, currency="USD"),
        422,
        "currency_mismatch",
    )
    problem(await _transfer(client, tenant, customer, customer, 1), 422, "same_account")
    problem(await _transfer(client, tenant, customer, "lacc_missing", 1), 404, "account_not_found")
    no_key = await client.post(
        "/ledger/transfers",
        json={
            "debit_account_id": customer,
            "credit_account_id": vault,
            "amount": {"amount": 1, "currency": "INR"},
        },
        headers=tenant.headers,
    )
    problem(no_key, 400, "idempotency_key_required")
    keyed = await client.post(
        "/ledger/transfers",
        json={
            "debit_account_id": customer,
            "credit_account_id": vault,
            "amount": {"amount": 1, "currency": "INR"},
        },
        headers=tenant.with_idempotency("k-1"),
    )
    replay = await client.post(
        "/ledger/transfers",
        json={
            "debit_account_id": customer,
            "credit_account_id": vault,
            "amount": {"amount": 1, "currency": "INR"},
        },
        headers=tenant.with_idempotency("k-1"),
    )
    assert keyed.status_code == replay.status_code == 201
    assert replay.headers["Idempotency-Replayed"] == "true"
    assert replay.json()["id"] == keyed.json()["id"]
    balance = (await client.get(f"/ledger/accounts/{customer}", headers=tenant.headers)).json()
    assert balance["posted"] == 699
    assert (await client.get("/ledger/transfers/wd:1", headers=tenant.headers)).json()[
        "amount"
    ] == {"amount": 300, "currency": "INR"}
    await assert_cached_match_postings(session, tenant.tenant_id)


async def test_foreign_tenant_ids_answer_404(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    mine = await make_tenant(session)
    theirs = await make_tenant(session)
    _, their_customer = await _setup(client, theirs)
    my_vault, _ = await _setup(client, mine)
    response = await client.get(f"/ledger/accounts/{their_customer}", headers=mine.headers)
    problem(response, 404, "account_not_found")
    problem(await _transfer(client, mine, their_customer, my_vault, 1), 404, "account_not_found")
    entries = await client.get(f"/ledger/accounts/{their_customer}/entries", headers=mine.headers)
    problem(entries, 404, "account_not_found")


async def test_permissions(client: httpx.AsyncClient, session: AsyncSession) -> None:
    owner = await make_tenant(session)
    vault, customer = await _setup(client, owner)
    viewer = await add_api_key(session, owner, role=Role.viewer)
    operator = await add_api_key(session, owner, role=Role.operator)
    assert (
        await client.get(f"/ledger/accounts/{customer}", headers=viewer.headers)
    ).status_code == 200
    problem(await _transfer(client, viewer, customer, vault, 1), 403, "forbidden")
    moved = await _transfer(client, operator, customer, vault, 1, id="op:1")
    assert moved.status_code == 201
    problem(
        await client.post("/ledger/transfers/op:1/reverse", headers=operator.headers),
        403,
        "forbidden",
    )
    reversed_ = await client.post("/ledger/transfers/op:1/reverse", headers=owner.headers)
    assert reversed_.status_code == 201 and reversed_.json()["reverses_id"] == "op:1"
    await bypass_tenant_scope(session)
    actions = set(
        (
            await session.execute(
                select(AuditLog.action).where(AuditLog.tenant_id == owner.tenant_id)
            )
        ).scalars()
    )
    assert {"ledger.account.opened", "ledger.transfer.reversed"} <= actions
    problem(await client.get("/ledger/accounts/x"), 401)


async def test_holds_over_http(client: httpx.AsyncClient, session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    vault, customer = await _setup(client, tenant)
    hold = await _transfer(
        client, tenant, customer, vault, 400, id="h:1", pending=True, timeout_seconds=3600
    )
    assert hold.json()["status"] == "pending"
    account = (await client.get(f"/ledger/accounts/{customer}", headers=tenant.headers)).json()
    assert (account["posted"], account["pending"], account["available"]) == (1_000, -400, 600)
    posted = await client.post(
        "/ledger/transfers/h:1/post",
        json={"amount": {"amount": 250, "currency": "INR"}},
        headers=tenant.headers,
    )
    assert posted.status_code == 200 and posted.json()["posted_amount"]["amount"] == 250
    problem(
        await client.post("/ledger/transfers/h:1/void", headers=tenant.headers),
        409,
        "pending_transfer_already_posted",
    )
    await _transfer(client, tenant, customer, vault, 100, id="h:2", pending=True)
    voided = await client.post("/ledger/transfers/h:2/void", headers=tenant.headers)
    assert voided.json()["status"] == "voided"
    problem(
        await client.post("/ledger/transfers/h:2/post", headers=tenant.headers),
        409,
        "pending_transfer_already_voided",
    )
    problem(
        await client.post("/ledger/transfers/nope/post", headers=tenant.headers),
        404,
        "transfer_not_found",
    )
    account = (await client.get(f"/ledger/accounts/{customer}", headers=tenant.headers)).json()
    assert (account["posted"], account["pending"], account["available"]) == (750, 0, 750)


async def test_expiry_job_voids_timed_out_holds(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    vault, customer = await _setup(client, tenant)
    await _transfer(
        client, tenant, customer, vault, 400, id="exp:1", pending=True, timeout_seconds=60
    )
    await _transfer(
        client, tenant, customer, vault, 100, id="exp:2", pending=True, timeout_seconds=3600
    )
    await bypass_tenant_scope(session)
    assert await ledger.expire_pending(session, now=datetime.now(UTC) + timedelta(seconds=120)) == 1
    assert await ledger.expire_pending(session, now=datetime.now(UTC) + timedelta(seconds=120)) == 0
    first = (await client.get("/ledger/transfers/exp:1", headers=tenant.headers)).json()
    assert first["status"] == "expired"
    problem(
        await client.post("/ledger/transfers/exp:1/post", headers=tenant.headers),
        409,
        "pending_transfer_expired",
    )
    account = (await client.get(f"/ledger/accounts/{customer}", headers=tenant.headers)).json()
    assert account["available"] == 900
    await assert_cached_match_postings(session, tenant.tenant_id)


async def test_entries_listing_has_running_balance(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    vault, customer = await _setup(client, tenant)
    for amount in (10, 20, 30):
        assert (await _transfer(client, tenant, customer, vault, amount)).status_code == 201
    url = f"/ledger/accounts/{customer}/entries"
    page = (await client.get(url, params={"limit": 2}, headers=tenant.headers)).json()
    assert [e["balance_after"] for e in page["data"]] == [940, 970]
    assert [e["direction"] for e in page["data"]] == ["debit", "debit"]
    rest = (
        await client.get(
            url, params={"limit": 2, "cursor": page["next_cursor"]}, headers=tenant.headers
        )
    ).json()
    assert [e["balance_after"] for e in rest["data"]] == [990, 1_000]
    assert rest["next_cursor"] is None


async def test_multi_leg_entries_and_trial_balance(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    vault, customer = await _setup(client, tenant)
    fees = await _account(client, tenant, kind="income", limit={"type": "none"})
    entry = await client.post(
        "/ledger/entries",
        json={
            "id": "fee:1",
            "postings": [
                {
                    "account_id": customer,
                    "direction": "debit",
                    "amount": {"amount": 110, "currency": "INR"},
                },
                {
                    "account_id": vault,
                    "direction": "credit",
                    "amount": {"amount": 100, "currency": "INR"},
                },
                {
                    "account_id": fees["id"],
                    "direction": "credit",
                    "amount": {"amount": 10, "currency": "INR"},
                },
            ],
        },
        headers=tenant.headers,
    )
    assert entry.status_code == 201, entry.text
    assert len(entry.json()["postings"]) == 3
    unbalanced = await client.post(
        "/ledger/entries",
        json={
            "id": "fee:2",
            "postings": [
                {
                    "account_id": customer,
                    "direction": "debit",
                    "amount": {"amount": 5, "currency": "INR"},
                },
                {
                    "account_id": vault,
                    "direction": "credit",
                    "amount": {"amount": 4, "currency": "INR"},
                },
            ],
        },
        headers=tenant.headers,
    )
    problem(unbalanced, 422, "entry_unbalanced")
    report = (
        await client.get(
            "/ledger/reports/trial-balance", params={"currency": "INR"}, headers=tenant.headers
        )
    ).json()
    assert report["balanced"] is True and report["total_debits"] == report["total_credits"] == 1_110
    assert {line["account_id"]: line["balance"] for line in report["lines"]}[fees["id"]] == 10


async def test_batch_non_atomic_and_atomic(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    vault, customer = await _setup(client, tenant)

    def item(id_: str, amount: int, **extra: Any) -> dict[str, Any]:
        return {
            "id": id_,
            "debit_account_id": customer,
            "credit_account_id": vault,
            "amount": {"amount": amount, "currency": "INR"},
            **extra,
        }

    batch = await client.post(
        "/ledger/transfers/batch",
        json={
            "transfers": [
                item("b:1", 600),
                item("b:2", 600),
                item("b:3", 400),
                item("b:1", 600),
                item("b:4", 1, pending=True, timeout_seconds=60),
            ]
        },
        headers=tenant.headers,
    )
    assert batch.status_code == 200, batch.text
    body = batch.json()
    assert [r["status"] for r in body["results"]] == [
        "created",
        "failed",
        "created",
        "exists",
        "failed",
    ]
    assert body["results"][1]["error"]["code"] == "insufficient_funds"
    assert body["results"][4]["error"]["code"] == "insufficient_funds"
    account = (await client.get(f"/ledger/accounts/{customer}", headers=tenant.headers)).json()
    assert account["posted"] == 0
    atomic = await client.post(
        "/ledger/transfers/batch",
        json={
            "atomic": True,
            "transfers": [
                {**item("a:1", 5), "debit_account_id": vault, "credit_account_id": customer},
                item("a:2", 6),
            ],
        },
        headers=tenant.headers,
    )
    assert atomic.json()["applied"] is False
    assert [r["status"] for r in atomic.json()["results"]] == ["skipped", "failed"]
    assert (await client.get("/ledger/transfers/a:1", headers=tenant.headers)).status_code == 404
    replay = await client.post(
        "/ledger/transfers/batch",
        json={"transfers": [item("b:3", 400), item("b:3", 401)]},
        headers=tenant.headers,
    )
    assert [r["status"] for r in replay.json()["results"]] == ["exists", "failed"]
    await assert_cached_match_postings(session, tenant.tenant_id)
    await bypass_tenant_scope(session)
    events = await session.scalar(
        select(func.count())
        .select_from(OutboxEvent)
        .where(OutboxEvent.tenant_id == tenant.tenant_id, OutboxEvent.type == "transfer.posted")
    )
    assert events == 3  # the funding transfer and b:1, b:3
    # Events are written before the account locks; failed and refused items lose theirs.
    ids = set(
        await session.scalars(
            select(OutboxEvent.payload["data"]["id"].astext).where(
                OutboxEvent.tenant_id == tenant.tenant_id,
                OutboxEvent.type.in_(["transfer.posted", "transfer.pending"]),
            )
        )
    )
    assert {"b:1", "b:3"} <= ids and not ids & {"b:2", "b:4", "a:1", "a:2"}
