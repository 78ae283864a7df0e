"""RFC 7662 introspection, RFC 7009 revocation, the API key endpoints and client profiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.roles import Role
from tests.conftest import problem
from tests.factories import add_api_key, add_client, add_user, make_tenant


async def _signin(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await client.post("/auth/signin", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


async def test_introspect_and_revoke(client: httpx.AsyncClient, session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    client_id, secret = await add_client(session, tenant)
    user = await add_user(session, tenant)
    tokens = await _signin(client, user.email, user.password)
    other = await make_tenant(session)
    other_user = await add_user(session, other)
    foreign = await _signin(client, other_user.email, other_user.password)

    async def introspect(token: str, **kwargs: object) -> httpx.Response:
        return await client.post("/auth/introspect", data={"token": token}, **kwargs)  # type: ignore[arg-type]

    problem(await introspect(tokens["access_token"]), 401)
    bad = await introspect(tokens["access_token"], auth=(client_id, "mrcs_wrong"))
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"

    access = (await introspect(tokens["access_token"], auth=(client_id, secret))).json()
    assert access["active"] is True and access["sub"] == user.user_id
    assert access["token_type"] == "access_token" and access["tenant"] == tenant.tenant_id
    refresh = (await introspect(tokens["refresh_token"], auth=(client_id, secret))).json()
    assert refresh == {**refresh, "active": True, "token_type": "refresh_token"}
    key = (await introspect(tenant.api_key, headers=tenant.headers)).json()
    assert key["active"] is True and key["token_type"] == "api_key"
    # Another tenant's tokens and garbage are simply inactive.
    assert (await introspect(foreign["access_token"], auth=(client_id, secret))).json() == {
        "active": False
    }
    assert (await introspect("nonsense", headers=tenant.headers)).json() == {"active": False}

    # RFC 7009: revoking the access token ends its session; unknown tokens are fine too.
    assert (
        await client.post("/auth/revoke", data={"token": tokens["access_token"]})
    ).status_code == 200
    assert (await client.post("/auth/revoke", data={"token": "whatever"})).status_code == 200
    assert (await client.post("/auth/revoke", data={})).json()["error"] == "invalid_request"
    after = (await introspect(tokens["refresh_token"], auth=(client_id, secret))).json()
    assert after == {"active": False}
    problem(
        await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401
    )

    fresh = await _signin(client, user.email, user.password)
    revoked = await client.post(
        "/auth/revoke",
        data={"token": fresh["refresh_token"], "token_type_hint": "refresh_token"},
        auth=(client_id, secret),
    )
    assert revoked.status_code == 200 and revoked.headers["cache-control"] == "no-store"
    problem(await client.post("/auth/refresh", json={"refresh_token": fresh["refresh_token"]}), 401)


async def test_api_key_endpoints(client: httpx.AsyncClient, session: AsyncSession) -> None:
    tenant = await make_tenant(session, role=Role.admin)
    viewer = await add_api_key(session, tenant, role=Role.viewer)
    created = await client.post(
        "/api-keys",
        json={"name": "ci", "role": "operator", "scopes": ["ledger:read"], "environment": "live"},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"].startswith("mr_live_") and body["last4"] == body["key"][-4:]
    assert body["prefix"] == "mr_live_" and body["scopes"] == ["ledger:read"]
    listed = (await client.get("/api-keys", headers=tenant.headers)).json()["data"]
    assert {k["id"] for k in listed} == {tenant.api_key_id, viewer.api_key_id, body["id"]}
    assert all("key" not in k and "key_hash" not in k for k in listed)
    # Scoped key: reads ledger, cannot manage keys.
    scoped = {"X-API-Key": body["key"]}
    problem(await client.get("/api-keys", headers=scoped), 403)
    problem(
        await client.post("/api-keys", json={"name": "x", "role": "owner"}, headers=tenant.headers),
        403,
    )
    problem(
        await client.post(
            "/api-keys", json={"name": "x", "scopes": ["tenant:owner"]}, headers=tenant.headers
        ),
        422,
        "invalid_scopes",
    )
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    problem(
        await client.post(
            "/api-keys", json={"name": "x", "expires_at": past}, headers=tenant.headers
        ),
        422,
        "expiry_in_past",
    )
    problem(await client.get("/api-keys", headers=viewer.headers), 403)
    revoked = await client.delete(f"/api-keys/{body['id']}", headers=tenant.headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    problem(await client.get("/auth/me", headers=scoped), 401)
    problem(
        await client.delete("/api-keys/key_01AAAAAAAAAAAAAAAAAAAAAAAA", headers=tenant.headers), 404
    )


async def test_client_profile(client: httpx.AsyncClient, session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    client_id, secret = await add_client(session, tenant)
    token = (
        await client.post(
            "/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    updated = await client.put(
        "/auth/me", json={"name": "Renamed", "contact_email": "ops@example.com"}, headers=headers
    )
    assert updated.status_code == 200, updated.text
    assert (
        updated.json()["name"] == "Renamed" and updated.json()["contact_email"] == "ops@example.com"
    )
    problem(await client.put("/auth/me", json={"name": "k"}, headers=tenant.headers), 403)
