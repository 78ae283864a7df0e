"""Role changes, disabling and sign-in failures take effect on the very next request, and
sign-in refusals do not tell an unknown address, a wrong password and a locked account apart."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.roles import ROLE_SCOPES, Role
from moneyrail.core import limits
from tests.factories import add_user, make_tenant
from tests.identity.test_route_security import _api_routes, _concrete, _required_scopes

ADMIN_ONLY = ROLE_SCOPES[Role.admin] - ROLE_SCOPES[Role.viewer]


async def _sign_in(client: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    answer = await client.post("/auth/signin", data={"username": email, "password": password})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_demoted_admin_is_refused_on_every_admin_route_at_once(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    admin = await add_user(session, tenant, role=Role.admin)
    tokens = await _sign_in(client, admin.email, admin.password)
    minted = await client.post(
        "/api-keys",
        json={"name": "admin's key", "role": "admin"},
        headers={**_bearer(tokens["access_token"]), "Idempotency-Key": "mint-1"},
    )
    assert minted.status_code == 201, minted.text
    demoted = await client.patch(
        f"/admin/users/{admin.user_id}/role", json={"role": "viewer"}, headers=tenant.headers
    )
    assert demoted.status_code == 200, demoted.text
    assert [k["id"] for k in demoted.json()["api_keys_for_review"]] == [minted.json()["id"]]
    walked = []
    for route in _api_routes(app):
        scopes = _required_scopes(route.dependant)
        if not scopes or not scopes & ADMIN_ONLY:
            continue
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            response = await client.request(
                method,
                "http://testserver" + _concrete(route.path),
                headers={**_bearer(tokens["access_token"]), "Idempotency-Key": "walk"},
                json={"name": "x", "role": "admin", "email": "new@example.com"},
            )
            assert response.status_code == 403, (method, route.path, response.text)
            walked.append(f"{method} {route.path}")
    assert "POST /api/v1/api-keys" in walked
    assert "POST /api/v1/admin/users" in walked
    # The refresh token died with the demotion.
    refreshed = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401


async def test_demotion_can_revoke_the_keys_the_user_minted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    admin = await add_user(session, tenant, role=Role.admin)
    tokens = await _sign_in(client, admin.email, admin.password)
    minted = await client.post(
        "/api-keys",
        json={"name": "admin's key", "role": "admin"},
        headers={**_bearer(tokens["access_token"]), "Idempotency-Key": "mint-2"},
    )
    key = minted.json()["key"]
    assert (await client.get("/auth/verify", headers={"X-API-Key": key})).status_code == 200
    demoted = await client.patch(
        f"/admin/users/{admin.user_id}/role",
        json={"role": "viewer", "revoke_api_keys": True},
        headers=tenant.headers,
    )
    assert demoted.json()["api_keys_for_review"][0]["revoked_at"] is not None
    assert (await client.get("/auth/verify", headers={"X-API-Key": key})).status_code == 401


async def test_a_disabled_user_s_tokens_and_keys_stop_working_at_once(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    admin = await add_user(session, tenant, role=Role.admin)
    tokens = await _sign_in(client, admin.email, admin.password)
    minted = await client.post(
        "/api-keys",
        json={"name": "k", "role": "viewer"},
        headers={**_bearer(tokens["access_token"]), "Idempotency-Key": "mint-3"},
    )
    key = minted.json()["key"]
    disabled = await client.patch(
        f"/admin/users/{admin.user_id}/status", json={"status": "disabled"}, headers=tenant.headers
    )
    assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
    assert (
        await client.get("/auth/me", headers=_bearer(tokens["access_token"]))
    ).status_code == 401
    assert (await client.get("/auth/me", headers={"X-API-Key": key})).status_code == 401
    refreshed = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401
    enabled = await client.patch(
        f"/admin/users/{admin.user_id}/status", json={"status": "active"}, headers=tenant.headers
    )
    assert enabled.status_code == 200
    assert (await client.get("/auth/me", headers={"X-API-Key": key})).status_code == 200


async def test_logout_and_password_change_end_access_tokens(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    user = await add_user(session, tenant, role=Role.admin)
    first = await _sign_in(client, user.email, user.password)
    second = await _sign_in(client, user.email, user.password)
    await client.post("/auth/logout", json={"refresh_token": first["refresh_token"]})
    assert (await client.get("/auth/me", headers=_bearer(first["access_token"]))).status_code == 401
    assert (
        await client.get("/auth/me", headers=_bearer(second["access_token"]))
    ).status_code == 200
    changed = await client.post(
        "/auth/change-password",
        json={"current_password": user.password, "new_password": "another long passphrase"},
        headers=_bearer(second["access_token"]),
    )
    assert changed.status_code == 204, changed.text
    assert (
        await client.get("/auth/me", headers=_bearer(second["access_token"]))
    ).status_code == 401


def _comparable(response: httpx.Response) -> tuple[int, dict[str, str], dict[str, Any]]:
    headers = {
        k: v
        for k, v in response.headers.items()
        if k not in ("x-request-id", "date") and not k.startswith("x-ratelimit")
    }
    body = response.json()
    body.pop("request_id", None)
    return response.status_code, headers, body


async def test_sign_in_refusals_are_identical(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    user = await add_user(session, tenant)
    locked = await add_user(session, tenant)
    for _ in range(limits.login_failures_max):
        await client.post("/auth/signin", data={"username": locked.email, "password": "bad pass"})
    answers = [
        await client.post("/auth/signin", data={"username": "ghost@example.com", "password": "x"}),
        await client.post("/auth/signin", data={"username": user.email, "password": "wrong one"}),
        await client.post(
            "/auth/signin", data={"username": locked.email, "password": locked.password}
        ),
    ]
    shapes = [_comparable(a) for a in answers]
    assert shapes[0] == shapes[1] == shapes[2], shapes
    assert shapes[0][0] == 400


async def test_a_stranger_s_guesses_do_not_lock_the_owner_out(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    owner = await add_user(session, tenant)
    stranger_transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(
        transport=stranger_transport, base_url="http://testserver/api/v1"
    ) as stranger:
        for _ in range(limits.login_failures_max):
            await stranger.post("/auth/signin", data={"username": owner.email, "password": "guess"})
        locked_out = await stranger.post(
            "/auth/signin", data={"username": owner.email, "password": owner.password}
        )
        assert locked_out.status_code == 400
    await _sign_in(client, owner.email, owner.password)


async def test_replayed_key_and_client_creations_return_the_stored_response(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    for path, body in (
        ("/api-keys", {"name": "replayed", "role": "viewer"}),
        ("/admin/clients", {"name": "replayed", "role": "viewer"}),
    ):
        headers = {**tenant.headers, "Idempotency-Key": f"replay-{path}"}
        first = await client.post(path, json=body, headers=headers)
        again = await client.post(path, json=body, headers=headers)
        assert first.status_code == again.status_code == 201, first.text
        assert again.headers.get("idempotency-replayed") == "true"
        assert again.json() == first.json()
