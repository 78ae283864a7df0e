"""Back office: OAuth2 clients and their keys, users and roles, audit log, dashboard."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.roles import Role
from tests.conftest import problem
from tests.factories import add_api_key, add_user, make_tenant


async def test_clients_lifecycle(client: httpx.AsyncClient, session: AsyncSession) -> None:
    tenant = await make_tenant(session, role=Role.admin)
    created = await client.post(
        "/admin/clients",
        json={"name": "Biller app", "role": "operator", "scopes": ["bills:read", "bills:write"]},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    body = created.json()
    assert body["client_secret"].startswith("mrcs_") and body["client_id"].startswith("cli_")
    client_id = body["client_id"]

    listed = (await client.get("/admin/clients", headers=tenant.headers)).json()
    assert [c["client_id"] for c in listed["data"]] == [client_id]
    assert "client_secret" not in listed["data"][0]

    updated = await client.put(
        f"/admin/clients/{client_id}",
        json={"name": "Biller app v2", "scopes": ["bills:read"]},
        headers=tenant.headers,
    )
    assert updated.status_code == 200 and updated.json()["scopes"] == ["bills:read"]
    too_high = await client.put(
        f"/admin/clients/{client_id}", json={"role": "owner"}, headers=tenant.headers
    )
    problem(too_high, 403)
    bad_scope = await client.put(
        f"/admin/clients/{client_id}", json={"scopes": ["admin:write"]}, headers=tenant.headers
    )
    problem(bad_scope, 422, "invalid_scopes")

    key = await client.post(
        f"/admin/clients/{client_id}/api-keys",
        json={"name": "biller key", "environment": "live"},
        headers=tenant.headers,
    )
    assert key.status_code == 201, key.text
    assert key.json()["key"].startswith("mr_live_") and key.json()["client_id"] == client_id
    me = (await client.get("/auth/me", headers={"X-API-Key": key.json()["key"]})).json()
    assert me["actor_type"] == "api_key" and me["role"] == "operator"
    assert me["environment"] == "live"

    disabled = await client.put(
        f"/admin/clients/{client_id}", json={"status": "disabled"}, headers=tenant.headers
    )
    assert disabled.json()["status"] == "disabled"
    token = await client.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, body["client_secret"]),
    )
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"


async def test_users_and_roles(client: httpx.AsyncClient, session: AsyncSession) -> None:
    tenant = await make_tenant(session, role=Role.owner)
    admin_key = await add_api_key(session, tenant, role=Role.admin)
    created = await client.post(
        "/admin/users",
        json={"email": "Teller@Bank.example", "password": "teller password 1", "role": "operator"},
        headers=admin_key.headers,
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    assert created.json()["email"] == "teller@bank.example"
    problem(
        await client.post(
            "/admin/users",
            json={"email": "boss@bank.example", "password": "boss password 1", "role": "owner"},
            headers=admin_key.headers,
        ),
        403,
    )
    problem(
        await client.post(
            "/admin/users",
            json={"email": "teller@bank.example", "password": "teller password 2"},
            headers=admin_key.headers,
        ),
        409,
        "email_taken",
    )
    users = (await client.get("/admin/users", headers=admin_key.headers)).json()["data"]
    assert [u["id"] for u in users] == [user_id]
    assert "password_hash" not in users[0]

    promoted = await client.patch(
        f"/admin/users/{user_id}/role", json={"role": "admin"}, headers=admin_key.headers
    )
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
    problem(
        await client.patch(
            f"/admin/users/{user_id}/role", json={"role": "owner"}, headers=admin_key.headers
        ),
        403,
    )
    owner = await add_user(session, tenant, role=Role.owner)
    problem(
        await client.patch(
            f"/admin/users/{owner.user_id}/role", json={"role": "viewer"}, headers=tenant.headers
        ),
        409,
        "last_owner",
    )


async def test_audit_log_filters_and_dashboard(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session, role=Role.owner)
    for name in ("one", "two"):
        response = await client.post(
            "/api-keys", json={"name": name, "role": "viewer"}, headers=tenant.headers
        )
        assert response.status_code == 201
    key_id = response.json()["id"]
    assert (await client.delete(f"/api-keys/{key_id}", headers=tenant.headers)).status_code == 200

    logs = (await client.get("/admin/audit-logs", headers=tenant.headers)).json()["data"]
    actions = [row["action"] for row in logs]
    assert actions[:3] == [
        "identity.api_key.revoked",
        "identity.api_key.created",
        "identity.api_key.created",
    ]
    assert all(row["actor_id"] == tenant.api_key_id for row in logs)
    by_target = await client.get(
        "/admin/audit-logs", params={"target_id": key_id}, headers=tenant.headers
    )
    assert {r["action"] for r in by_target.json()["data"]} == {
        "identity.api_key.created",
        "identity.api_key.revoked",
    }
    prefix = await client.get(
        "/admin/audit-logs",
        params={"action": "identity.api_key.rev*", "actor": tenant.api_key_id, "limit": 1},
        headers=tenant.headers,
    )
    assert [r["action"] for r in prefix.json()["data"]] == ["identity.api_key.revoked"]
    future = await client.get(
        "/admin/audit-logs", params={"since": "2999-01-01T00:00:00Z"}, headers=tenant.headers
    )
    assert future.json()["data"] == []

    dashboard = await client.get("/admin/dashboard", headers=tenant.headers)
    assert dashboard.status_code == 200, dashboard.text
    counts = dashboard.json()
    assert counts["api_keys"] == 2 and counts["users"] == 0 and counts["clients"] == 0
    assert counts["requests_today"] >= 5 and counts["audit_events_today"] >= 3
