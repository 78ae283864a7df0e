"""Rate limits from settings, per-group overrides, and 401s for missing credentials while
failed attempts stay limited per client IP."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from limits import parse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.ratelimit import AUTH_FAILURES, RateLimitConfig
from moneyrail.core.settings import Environment, Settings
from tests.conftest import problem
from tests.factories import make_tenant

API, FAILURES = 10, 3


def _ip() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


@pytest_asyncio.fixture
async def limited(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    app.state.rate_limits = RateLimitConfig(
        enabled=True,
        groups={"api": parse(f"{API}/minute"), AUTH_FAILURES: parse(f"{FAILURES}/minute")},
    )
    transport = httpx.ASGITransport(app=app, client=(_ip(), 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver/api/v1") as c:
        yield c


def test_config_from_settings_and_overrides() -> None:
    settings = Settings(
        environment=Environment.development,
        rate_limit_requests=7,
        rate_limit_period=30,
        rate_limit_admin="5/minute",
        rate_limit_overrides={"auth": "3/second", "auth_failures": "9/hour"},
    )
    config = RateLimitConfig.from_settings(settings)
    assert config.enabled
    assert (config.groups["api"].amount, config.groups["api"].get_expiry()) == (7, 30)
    assert (config.groups["admin"].amount, config.groups["admin"].get_expiry()) == (5, 60)
    assert (config.groups["auth"].amount, config.groups["auth"].get_expiry()) == (3, 1)
    assert config.groups[AUTH_FAILURES].amount == 9
    assert not RateLimitConfig.from_settings(Settings(environment=Environment.test)).enabled
    assert RateLimitConfig.from_settings(
        Settings(environment=Environment.test, rate_limit_enabled=True)
    ).enabled


@pytest.mark.parametrize(
    "bad",
    [
        {"rate_limit_overrides": {"nope": "1/second"}},
        {"rate_limit_overrides": {"api": "lots"}},
        {"rate_limit_admin": "0/minute"},
        {"rate_limit_requests": 0},
        {"rate_limit_period": -1},
    ],
)
def test_bad_rate_settings_refuse_to_start(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="validation error for Settings"):
        Settings(**bad)  # type: ignore[arg-type]


async def test_missing_credentials_are_401_until_the_ip_fails_too_often(
    limited: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    attempts = [
        {},
        {"X-API-Key": "mr_test_" + "x" * 40},
        {"Authorization": "Bearer not-a-token"},
    ]
    for headers in attempts:
        response = await limited.get("/auth/verify", headers=headers)
        problem(response, 401)
        assert "ratelimit-limit" in response.headers
    # Failures spent: this IP's unverified requests are refused, made-up keys included.
    for headers in [*attempts, {"X-API-Key": "mr_test_" + "y" * 40}, tenant.headers]:
        refused = await limited.get("/auth/verify", headers=headers)
        problem(refused, 429, "rate_limited")
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["ratelimit-limit"] == str(FAILURES)
        assert refused.headers["ratelimit-remaining"] == "0"
        assert int(refused.headers["ratelimit-reset"]) >= 1


async def test_other_ips_and_success_headers(
    app: FastAPI, limited: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    for _ in range(FAILURES + 1):
        await limited.get("/auth/verify")
    transport = httpx.ASGITransport(app=app, client=(_ip(), 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver/api/v1") as c:
        problem(await c.get("/auth/verify"), 401)
        ok = await c.get("/auth/verify", headers=tenant.headers)
    assert ok.status_code == 200
    assert ok.headers["ratelimit-limit"] == str(API)
    assert ok.headers["ratelimit-remaining"] == str(API - 1)
    assert 0 <= int(ok.headers["ratelimit-reset"]) <= 60
