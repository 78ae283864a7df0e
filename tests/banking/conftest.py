from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.roles import Role
from tests.factories import TenantContext, add_api_key, make_tenant


@dataclass(frozen=True)
class Bank:
    owner: TenantContext
    admin: TenantContext
    operator: TenantContext
    viewer: TenantContext


@pytest_asyncio.fixture
async def bank(session: AsyncSession) -> Bank:
    owner = await make_tenant(session, role=Role.owner)
    return Bank(
        owner=owner,
        admin=await add_api_key(session, owner, role=Role.admin),
        operator=await add_api_key(session, owner, role=Role.operator),
        viewer=await add_api_key(session, owner, role=Role.viewer),
    )


def inr(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "INR"}


async def new_customer(client: httpx.AsyncClient, who: TenantContext, **fields: Any) -> str:
    body = {
        "first_name": "Asha",
        "last_name": "Verma",
        "email": f"asha.{uuid.uuid4().hex[:8]}@example.com",
        "phone": "+919812345678",
        **fields,
    }
    response = await client.post("/customers", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def new_account(
    client: httpx.AsyncClient,
    who: TenantContext,
    *,
    deposit: int = 0,
    account_type: str = "SAVINGS",
    customer_id: str | None = None,
    **fields: Any,
) -> str:
    customer_id = customer_id or await new_customer(client, who)
    body: dict[str, Any] = {"customer_id": customer_id, "account_type": account_type, **fields}
    if deposit:
        body["initial_deposit"] = inr(deposit)
    response = await client.post("/accounts", json=body, headers=who.with_idempotency())
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


async def balance(client: httpx.AsyncClient, who: TenantContext, number: str) -> int:
    response = await client.get(f"/accounts/{number}/balance", headers=who.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["posted"]["amount"])
