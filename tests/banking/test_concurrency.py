from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.banking.conftest import balance, inr, new_account
from tests.factories import make_live_tenant


async def test_concurrent_withdrawals_never_overdraw(
    live_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_live_tenant(engine)
    number = await new_account(live_client, tenant, deposit=100)

    async def withdraw() -> httpx.Response:
        return await live_client.post(
            f"/accounts/{number}/withdraw",
            json={"amount": inr(30)},
            headers=tenant.with_idempotency(),
        )

    responses = await asyncio.gather(*(withdraw() for _ in range(20)))
    outcomes = Counter(
        (r.status_code, r.json().get("code")) if r.status_code != 201 else (201, None)
        for r in responses
    )
    assert outcomes == {(201, None): 3, (422, "insufficient_funds"): 17}, outcomes
    assert await balance(live_client, tenant, number) == 10


async def test_opposite_transfers_keep_the_total(
    live_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_live_tenant(engine)
    a = await new_account(live_client, tenant, deposit=1_000)
    b = await new_account(live_client, tenant, deposit=1_000)

    async def move(source: str, target: str) -> int:
        response = await live_client.post(
            f"/accounts/{source}/transfer",
            json={"amount": inr(7), "to_account_number": target},
            headers=tenant.with_idempotency(),
        )
        return response.status_code

    codes = await asyncio.gather(*(move(a, b) if i % 2 else move(b, a) for i in range(20)))
    assert set(codes) == {201}, codes
    assert await balance(live_client, tenant, a) + await balance(live_client, tenant, b) == 2_000
