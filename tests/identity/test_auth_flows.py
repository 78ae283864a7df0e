"""Sign-up, password grant, refresh rotation and reuse, logout, change of password, lockout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.models import AuditLog
from moneyrail.auth.roles import Role
from moneyrail.core import limits
from moneyrail.identity.models import LoginFailure, RefreshToken
from moneyrail.identity.sessions.service import SIGN_IN_REFUSED
from tests.conftest import problem
from tests.factories import add_user, make_tenant


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_signup_returns_tokens_and_me_shows_the_owner(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/signup",
        json={
            "email": "Founder@Example.com",
            "password": "correct horse battery",
            "organization_name": "Acme Pay",
            "name": "Ada",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    assert body["refresh_token"].startswith("mrrt_")
    assert response.headers["cache-control"] == "no-store"
    me = await client.get("/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["email"] == "founder@example.com"
    assert me.json()["role"] == "owner" and me.json()["actor_type"] == "user"

    again = await client.post(
        "/auth/signup",
        json={
            "email": "founder@example.com",
            "password": "another password",
            "organization_name": "X",
        },
    )
    problem(again, 409, "email_taken")
    weak = await client.post(
        "/auth/signup",
        json={"email": "w@example.com", "password": "short", "organization_name": "X"},
    )
    # The schema states the length bound; the policy check adds what it cannot (not the e-mail).
    problem(weak, 422, "validation_error")
    same = await client.post(
        "/auth/signup",
        json={"email": "w@example.com", "password": "W@example.com", "organization_name": "X"},
    )
    problem(same, 422, "weak_password")


async def test_password_grant_and_signin_forms(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    user = await add_user(session, tenant, role=Role.admin)
    form = {"grant_type": "password", "username": user.email, "password": user.password}
    response = await client.post("/auth/token", data=form)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    for signin in (
        client.post("/auth/signin", data={"username": user.email, "password": user.password}),
        client.post("/auth/signin", json={"username": user.email, "password": user.password}),
    ):
        answer = await signin
        assert answer.status_code == 200, answer.text
        verify = await client.get("/auth/verify", headers=bearer(answer.json()["access_token"]))
        assert verify.json()["subject"] == user.user_id and verify.json()["role"] == "admin"

    wrong = await client.post("/auth/token", data={**form, "password": "nope-nope"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert wrong.headers["cache-control"] == "no-store"
    unknown = await client.post("/auth/token", data={**form, "username": "ghost@example.com"})
    assert unknown.json() == {
        "error": "invalid_grant",
        "error_description": SIGN_IN_REFUSED,
    }
    unsupported = await client.post("/auth/token", data={"grant_type": "implicit"})
    assert unsupported.status_code == 400
    assert unsupported.json()["error"] == "unsupported_grant_type"
    missing = await client.post("/auth/token", data={})
    assert missing.json()["error"] == "invalid_request"
    too_much = await client.post("/auth/token", data={**form, "scope": "tenant:owner"})
    assert too_much.json()["error"] == "invalid_scope"


async def test_refresh_rotates_and_reuse_revokes_the_family(
    client: httpx.AsyncClient, session: AsyncSession, system_session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    user = await add_user(session, tenant)
    first = (
        await client.post(
            "/auth/token",
            data={"grant_type": "password", "username": user.email, "password": user.password},
        )
    ).json()
    second = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    # The same token again: theft suspected, the whole family dies.
    reuse = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    problem(reuse, 401, "invalid_refresh_token")
    latest = await client.post("/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    problem(latest, 401, "invalid_refresh_token")
    rows = (
        await system_session.scalars(
            select(RefreshToken).where(RefreshToken.user_id == user.user_id)
        )
    ).all()
    assert rows and all(r.revoked_at is not None for r in rows)
    assert {r.revoked_reason for r in rows} == {"reuse"}
    audited = await system_session.scalar(
        select(AuditLog.action).where(
            AuditLog.tenant_id == tenant.tenant_id,
            AuditLog.action == "identity.refresh_token.reused",
        )
    )
    assert audited is not None
    # The refresh grant of the token endpoint answers RFC 6749 errors.
    grant = await client.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert grant.status_code == 400 and grant.json()["error"] == "invalid_grant"


async def test_logout_ends_the_session(client: httpx.AsyncClient, session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    user = await add_user(session, tenant)
    tokens = (
        await client.post("/auth/signin", data={"username": user.email, "password": user.password})
    ).json()
    assert (
        await client.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 204
    again = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    problem(again, 401)


async def test_change_password_and_profile(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    user = await add_user(session, tenant, role=Role.viewer)
    tokens = (
        await client.post("/auth/signin", data={"username": user.email, "password": user.password})
    ).json()
    headers = bearer(tokens["access_token"])
    updated = await client.put(
        "/auth/me", json={"name": "Grace", "mobile": "+911234567890"}, headers=headers
    )
    assert updated.status_code == 200 and updated.json()["name"] == "Grace"
    wrong = await client.post(
        "/auth/change-password",
        json={"current_password": "wrong-one", "new_password": "a brand new secret"},
        headers=headers,
    )
    problem(wrong, 400, "wrong_password")
    ok = await client.post(
        "/auth/change-password",
        json={"current_password": user.password, "new_password": "a brand new secret"},
        headers=headers,
    )
    assert ok.status_code == 204, ok.text
    old = await client.post(
        "/auth/signin", data={"username": user.email, "password": user.password}
    )
    assert old.status_code == 400
    new = await client.post(
        "/auth/signin", data={"username": user.email, "password": "a brand new secret"}
    )
    assert new.status_code == 200
    # Sessions from before the change are over.
    problem(
        await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401
    )


async def test_ten_failures_lock_the_account_for_thirty_minutes(
    client: httpx.AsyncClient, session: AsyncSession, system_session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    user = await add_user(session, tenant)
    form = {"grant_type": "password", "username": user.email, "password": "wrong password"}
    for _ in range(limits.login_failures_max):
        assert (await client.post("/auth/token", data=form)).status_code == 400
    right = {**form, "password": user.password}
    locked = await client.post("/auth/token", data=right)
    assert locked.status_code == 400 and locked.json()["error"] == "invalid_grant"
    row = await system_session.scalar(
        select(LoginFailure)
        .where(LoginFailure.user_id == user.user_id)
        .execution_options(populate_existing=True)
    )
    assert row is not None and row.locked_until is not None
    remaining = row.locked_until - datetime.now(UTC)
    assert timedelta(minutes=29) < remaining <= timedelta(minutes=30)
    actions = (
        await system_session.scalars(
            select(AuditLog.action).where(
                AuditLog.tenant_id == tenant.tenant_id, AuditLog.target_id == user.user_id
            )
        )
    ).all()
    assert "identity.user.locked" in actions
    assert actions.count("identity.login.failed") >= limits.login_failures_max
    # Once the lockout is over the right password works again.
    await system_session.execute(
        update(LoginFailure)
        .where(LoginFailure.user_id == user.user_id)
        .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
    )
    assert (await client.post("/auth/token", data=right)).status_code == 200


async def test_jwks_is_empty_for_hs256(client: httpx.AsyncClient, app: FastAPI) -> None:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200 and response.json() == {"keys": []}
