"""Rate limits: per IP on the anonymous auth endpoints, per API key and per user elsewhere,
tighter on /admin; 429 problem+json with Retry-After and RateLimit-* headers, never 5xx."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from limits import parse
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.roles import Role
from moneyrail.core.ratelimit import RateLimitConfig
from tests.conftest import problem
from tests.factories import add_api_key, add_user, make_tenant

AUTH, API, ADMIN = 5, 4, 3


@pytest_asyncio.fixture
async def limited(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client from its own random IP, on an app with small limits."""
    app.state.rate_limits = RateLimitConfig(
        enabled=True,
        groups={
            "auth": parse(f"{AUTH}/minute"),
            "api": parse(f"{API}/minute"),
            "admin": parse(f"{ADMIN}/minute"),
        },
    )
    ip = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver/api/v1") as c:
        yield c


def _limited_headers(response: httpx.Response, limit: int) -> None:
    assert response.headers["ratelimit-limit"] == str(limit)
    assert int(response.headers["ratelimit-remaining"]) >= 0
    assert 0 <= int(response.headers["ratelimit-reset"]) <= 60


def _refused(response: httpx.Response, limit: int) -> None:
    problem(response, 429, "rate_limited")
    _limited_headers(response, limit)
    assert response.headers["ratelimit-remaining"] == "0"
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_anonymous_auth_endpoints_per_ip(limited: httpx.AsyncClient) -> None:
    statuses = []
    for _ in range(2 * AUTH):
        response = await limited.post("/auth/request-otp", json={"email": "nobody@example.com"})
        assert response.status_code < 500
        statuses.append(response.status_code)
        if response.status_code == 202:
            _limited_headers(response, AUTH)
        else:
            _refused(response, AUTH)
    assert statuses == [202] * AUTH + [429] * AUTH
    # Another route of the same group shares the IP's budget.
    _refused(await limited.post("/auth/token", data={"grant_type": "password"}), AUTH)
    # Health probes are never limited.
    assert (await limited.get("/health")).status_code == 200


async def test_per_key_and_per_user(limited: httpx.AsyncClient, session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    other = await add_api_key(session, tenant, role=Role.viewer)
    results = [(await limited.get("/auth/verify", headers=tenant.headers)) for _ in range(2 * API)]
    assert [r.status_code for r in results] == [200] * API + [429] * API
    _limited_headers(results[0], API)
    assert results[0].headers["ratelimit-remaining"] == str(API - 1)
    _refused(results[-1], API)
    # Another key has its own budget.
    assert (await limited.get("/auth/verify", headers=other.headers)).status_code == 200

    user = await add_user(session, tenant)
    signin = {"username": user.email, "password": user.password}
    tokens = [
        (await limited.post("/auth/signin", data=signin)).json()["access_token"] for _ in range(2)
    ]
    seen = [
        (
            await limited.get("/auth/verify", headers={"Authorization": f"Bearer {tokens[i % 2]}"})
        ).status_code
        for i in range(API + 1)
    ]
    # Two tokens of one user share the user's budget.
    assert seen == [200] * API + [429]


async def test_admin_group_is_tighter(limited: httpx.AsyncClient, session: AsyncSession) -> None:
    tenant = await make_tenant(session, role=Role.admin)
    statuses = [
        (await limited.get("/admin/dashboard", headers=tenant.headers)).status_code
        for _ in range(2 * ADMIN)
    ]
    assert statuses == [200] * ADMIN + [429] * ADMIN


@pytest.mark.parametrize("backend", ["memory"])
async def test_memory_backend_without_redis(
    app: FastAPI, session: AsyncSession, backend: str
) -> None:
    from moneyrail.core.ratelimit import create_rate_limiter

    app.state.rate_limiter = create_rate_limiter(None)
    app.state.rate_limits = RateLimitConfig(enabled=True, groups={"api": parse("2/minute")})
    tenant = await make_tenant(session)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver/api/v1") as c:
        statuses = [
            (await c.get("/auth/verify", headers=tenant.headers)).status_code for _ in range(4)
        ]
    assert statuses == [200, 200, 429, 429]
    assert app.state.rate_limiter.backend == backend
