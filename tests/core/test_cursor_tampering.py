"""Every list route refuses a cursor it did not mint for this tenant with 400
`invalid_cursor` — altered, made up, or another tenant's. Walks the OpenAPI document, so
lists added later are held to it too."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core import pagination
from tests.banking.conftest import new_account, new_customer
from tests.conftest import problem
from tests.factories import make_tenant


def _foreign_cursor(tenant_id: str, key: Any) -> str:
    """A genuine cursor, minted for another tenant."""
    token = pagination._scope.set(tenant_id)
    try:
        return pagination.encode_cursor(key)
    finally:
        pagination._scope.reset(token)


def _tampered(cursor: str) -> str:
    body, _, tag = cursor.partition(".")
    flipped = "A" if body[0] != "A" else "B"
    return f"{flipped}{body[1:]}.{tag}"


async def test_every_list_refuses_cursors_it_did_not_mint(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    owner = await make_tenant(session)
    other = await make_tenant(session)
    customer = await new_customer(client, owner)
    number = await new_account(client, owner, customer_id=customer, deposit=1_000)
    ledger_account = (
        await client.post(
            "/ledger/accounts",
            json={"code": "cursor-test", "name": "Cursor", "currency": "INR", "kind": "asset"},
            headers=owner.with_idempotency(),
        )
    ).json()["id"]
    values = {"customer_id": customer, "number": number, "account_id": ledger_account}

    mutations = {
        "integer": "12345",
        "huge_integer": "9" * 400,
        "boolean": "true",
        "nul": "abc\x00def",
        "another_tenant": _foreign_cursor(other.tenant_id, "zzzz"),
        "tampered": _tampered(_foreign_cursor(owner.tenant_id, "zzzz")),
        "unsigned": "InoiIg",  # base64 of "z" without a MAC
    }
    lists = [
        path
        for path, item in app.openapi()["paths"].items()
        if "get" in item and any(p["name"] == "cursor" for p in item["get"].get("parameters", []))
    ]
    assert len(lists) >= 10, lists
    wrong = []
    for template in lists:
        path = template.removeprefix("/api/v1")
        for name, value in values.items():
            path = path.replace("{" + name + "}", value)
        assert "{" not in path, f"no value for a parameter of {template}"
        for label, cursor in mutations.items():
            response = await client.get(
                f"{path}?cursor={quote(cursor, safe='')}", headers=owner.headers
            )
            if response.status_code != 400 or response.json().get("code") != "invalid_cursor":
                wrong.append(f"{template} {label}: {response.status_code} {response.text[:120]}")
    assert not wrong, "\n".join(wrong)


async def test_a_genuine_cursor_pages_on_for_its_tenant_only(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    owner = await make_tenant(session)
    for _ in range(3):
        await new_customer(client, owner)
    first = await client.get("/customers", params={"limit": 1}, headers=owner.headers)
    cursor = first.json()["next_cursor"]
    assert cursor
    second = await client.get(
        "/customers", params={"limit": 1, "cursor": cursor}, headers=owner.headers
    )
    assert second.status_code == 200, second.text
    assert second.json()["data"][0]["id"] != first.json()["data"][0]["id"]
    other = await make_tenant(session)
    foreign = await client.get(
        "/customers", params={"limit": 1, "cursor": cursor}, headers=other.headers
    )
    problem(foreign, 400, "invalid_cursor")
