"""Refusals found by an adversarial review of the ledger: each a 4xx with a stable code."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core import limits
from tests.conftest import problem
from tests.factories import TenantContext, make_tenant
from tests.ledger.helpers import assert_cached_match_postings


async def _account(
    client: httpx.AsyncClient,
    tenant: TenantContext,
    *,
    kind: str = "liability",
    limit: dict[str, Any] | None = None,
    currency: str = "INR",
    metadata: dict[str, Any] | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {
        "code": f"acct:{uuid.uuid4().hex[:8]}",
        "name": "Account",
        "currency": currency,
        "kind": kind,
        "balance_limit": limit or {"type": "none"},
    }
    if metadata is not None:
        body["metadata"] = metadata
    return await client.post("/ledger/accounts", json=body, headers=tenant.headers)


async def _id(client: httpx.AsyncClient, tenant: TenantContext, **kwargs: Any) -> str:
    response = await _account(client, tenant, **kwargs)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


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
        "amount": {"amount": amount, "currency": "INR"},
        **extra,
    }
    return await client.post("/ledger/transfers", json=body, headers=tenant.headers)


async def test_a_transfer_past_the_balance_bound_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    vault = await _id(client, tenant, kind="asset")
    customer = await _id(client, tenant)
    for _ in range(9):
        moved = await _transfer(client, tenant, vault, customer, limits.amount_minor_max)
        assert moved.status_code == 201, moved.text
    refused = await _transfer(client, tenant, vault, customer, limits.amount_minor_max)
    body = problem(refused, 422, "balance_out_of_range")
    assert sorted(body["account_ids"]) == sorted([vault, customer])
    # A hold counts too: pending counters are BIGINT as well.
    held = await _transfer(client, tenant, vault, customer, limits.amount_minor_max, pending=True)
    for _ in range(8):
        held = await _transfer(
            client, tenant, vault, customer, limits.amount_minor_max, pending=True
        )
        assert held.status_code == 201, held.text
    problem(
        await _transfer(client, tenant, vault, customer, limits.amount_minor_max, pending=True),
        422,
        "balance_out_of_range",
    )
    await assert_cached_match_postings(session, tenant.tenant_id)


async def test_a_batch_past_the_balance_bound_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    vault = await _id(client, tenant, kind="asset")
    customer = await _id(client, tenant)
    item = {
        "debit_account_id": vault,
        "credit_account_id": customer,
        "amount": {"amount": limits.amount_minor_max, "currency": "INR"},
    }
    response = await client.post(
        "/ledger/transfers/batch",
        json={"atomic": True, "transfers": [{**item, "id": f"b:{n}"} for n in range(10)]},
        headers=tenant.headers,
    )
    # A batch answers per item: the tenth is refused, and being atomic nothing is applied.
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["applied"] is False and result["created"] == 0
    assert result["results"][9]["error"]["code"] == "balance_out_of_range"
    await assert_cached_match_postings(session, tenant.tenant_id)


async def test_overdraft_past_the_ledger_bound_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    bound = limits.ledger_overdraft_limit_minor_max
    ok = await _account(client, tenant, limit={"type": "overdraft", "limit": bound})
    assert ok.status_code == 201, ok.text
    problem(
        await _account(client, tenant, limit={"type": "overdraft", "limit": bound + 1}),
        422,
        "validation_error",
    )


async def test_overdraft_past_the_bound_is_refused_by_the_service(session: AsyncSession) -> None:
    from moneyrail.ledger.service import InvalidBalanceLimit, ledger
    from moneyrail.ledger.types import AccountKind, BalanceLimit

    tenant = await make_tenant(session)
    try:
        await ledger.create_account(
            session,
            tenant_id=tenant.tenant_id,
            code="acct:too-deep",
            name="Too deep",
            currency="INR",
            kind=AccountKind.liability,
            balance_limit=BalanceLimit.overdraft(limits.ledger_overdraft_limit_minor_max + 1),
        )
    except InvalidBalanceLimit as exc:
        assert exc.code == "invalid_balance_limit" and exc.status == 422
    else:
        raise AssertionError("an overdraft past the bound was accepted")


async def test_a_partly_posted_hold_is_not_posted_in_full_afterwards(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    vault = await _id(client, tenant, kind="asset")
    customer = await _id(client, tenant, limit={"type": "non_negative"})
    assert (await _transfer(client, tenant, vault, customer, 1_000)).status_code == 201
    held = await _transfer(client, tenant, customer, vault, 400, id="h:part", pending=True)
    assert held.status_code == 201, held.text
    part = await client.post(
        "/ledger/transfers/h:part/post",
        json={"amount": {"amount": 250, "currency": "INR"}},
        headers=tenant.headers,
    )
    assert part.status_code == 200, part.text
    # A pending transfer resolves once: the remaining 150 was released, not left to post.
    body = problem(
        await client.post("/ledger/transfers/h:part/post", headers=tenant.headers),
        409,
        "pending_transfer_already_posted",
    )
    assert "250" in body["detail"]
    problem(
        await client.post(
            "/ledger/transfers/h:part/post",
            json={"amount": {"amount": 400, "currency": "INR"}},
            headers=tenant.headers,
        ),
        409,
        "pending_transfer_already_posted",
    )
    # The same partial post again is the no-op it always was.
    again = await client.post(
        "/ledger/transfers/h:part/post",
        json={"amount": {"amount": 250, "currency": "INR"}},
        headers=tenant.headers,
    )
    assert again.status_code == 200 and again.json()["posted_amount"]["amount"] == 250
    # A hold posted in full answers 200 to "post all" again.
    await _transfer(client, tenant, customer, vault, 100, id="h:full", pending=True)
    for _ in range(2):
        full = await client.post("/ledger/transfers/h:full/post", headers=tenant.headers)
        assert full.status_code == 200, full.text
    account = (await client.get(f"/ledger/accounts/{customer}", headers=tenant.headers)).json()
    assert (account["posted"], account["pending"]) == (650, 0)


async def test_multi_leg_entry_may_not_debit_and_credit_one_account(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    vault = await _id(client, tenant, kind="asset")
    other = await _id(client, tenant)

    def leg(account: str, direction: str, amount: int) -> dict[str, Any]:
        return {
            "account_id": account,
            "direction": direction,
            "amount": {"amount": amount, "currency": "INR"},
        }

    body = problem(
        await client.post(
            "/ledger/entries",
            json={
                "id": "e:same",
                "postings": [
                    leg(vault, "debit", 100),
                    leg(vault, "credit", 60),
                    leg(other, "credit", 40),
                ],
            },
            headers=tenant.headers,
        ),
        422,
        "same_account",
    )
    assert body["account_ids"] == [vault]


async def test_metadata_is_bounded(client: httpx.AsyncClient, session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    too_many = {f"k{n}": n for n in range(limits.metadata_keys_max + 1)}
    problem(await _account(client, tenant, metadata=too_many), 422, "validation_error")
    big_value = "x" * limits.metadata_bytes_max
    problem(await _account(client, tenant, metadata={"blob": big_value}), 422, "validation_error")
    nested = {"a": [{"b": "y" * 1000} for _ in range(limits.metadata_bytes_max // 1000 + 1)]}
    problem(await _account(client, tenant, metadata=nested), 422, "validation_error")
    fits = await _account(client, tenant, metadata={"invoice": "INV-1"})
    assert fits.status_code == 201, fits.text

    vault = await _id(client, tenant, kind="asset")
    customer = await _id(client, tenant)
    problem(
        await _transfer(client, tenant, vault, customer, 10, metadata={"blob": big_value}),
        422,
        "validation_error",
    )
    entry = {
        "id": "e:meta",
        "metadata": {"blob": big_value},
        "postings": [
            {"account_id": vault, "direction": "debit", "amount": {"amount": 5, "currency": "INR"}},
            {
                "account_id": customer,
                "direction": "credit",
                "amount": {"amount": 5, "currency": "INR"},
            },
        ],
    }
    problem(
        await client.post("/ledger/entries", json=entry, headers=tenant.headers),
        422,
        "validation_error",
    )
    batch = await client.post(
        "/ledger/transfers/batch",
        json={
            "transfers": [
                {
                    "id": "b:meta",
                    "debit_account_id": vault,
                    "credit_account_id": customer,
                    "amount": {"amount": 5, "currency": "INR"},
                    "metadata": {"blob": big_value},
                }
            ]
        },
        headers=tenant.headers,
    )
    problem(batch, 422, "validation_error")
