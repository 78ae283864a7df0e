"""Security headers on every response; CORS only for the configured origins."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.db import Database
from moneyrail.core.settings import Environment, Settings
from moneyrail.main import create_app
from tests.factories import make_tenant

ORIGIN = "https://app.example.com"


async def _client_for(app: FastAPI, base: str = "http://testserver") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url=base)


@pytest_asyncio.fixture
async def cors_app(settings: Settings, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.model_copy(update={"cors_allow_origins": [ORIGIN]})
    application = create_app(configured)
    application.state.db = app.state.db
    application.state.session_factory = app.state.session_factory
    async with (
        application.router.lifespan_context(application),
        await _client_for(application) as client,
    ):
        yield client


def _secure(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_security_headers_on_every_kind_of_answer(
    app: FastAPI, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    async with await _client_for(app) as client:
        answers = [
            await client.get("/api/v1/health"),
            await client.get("/api/v1/auth/verify", headers=tenant.headers),
            await client.get("/api/v1/auth/verify"),  # 401
            await client.get("/api/v1/nowhere"),  # 404
            await client.post(
                "/api/v1/ledger/accounts",
                content=b"x" * 2_000_000,
                headers={**tenant.headers, "Content-Type": "application/json"},
            ),  # 413
        ]
        for response in answers:
            _secure(response)
            assert "default-src 'none'" in response.headers["content-security-policy"]
            assert "strict-transport-security" not in response.headers
        for page in ("/docs", "/redoc"):
            response = await client.get(page)
            assert response.status_code == 200
            _secure(response)
            policy = response.headers["content-security-policy"]
            assert "https://cdn.jsdelivr.net" in policy and "'unsafe-inline'" in policy
        # No CORS unless origins are configured.
        response = await client.get("/api/v1/health", headers={"Origin": ORIGIN})
        assert "access-control-allow-origin" not in response.headers
        preflight = await client.options(
            "/api/v1/ledger/accounts",
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in preflight.headers


async def test_hsts_in_production(settings: Settings, engine: object) -> None:
    production = settings.model_copy(
        update={"environment": Environment.production, "secret_key": "p" * 40}
    )
    application = create_app(production)
    application.state.db = Database(engine)  # type: ignore[arg-type]
    async with await _client_for(application) as client:
        response = await client.get("/api/v1/nowhere")
    assert response.headers["strict-transport-security"].startswith("max-age=")
    _secure(response)


async def test_cors_preflight_and_exposed_headers(
    cors_app: httpx.AsyncClient, session: AsyncSession
) -> None:
    preflight = await cors_app.options(
        "/api/v1/ledger/transfers",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, x-api-key, idempotency-key, "
            "content-type, x-request-id",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = preflight.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "x-api-key", "idempotency-key", "x-request-id"):
        assert header in allowed
    assert int(preflight.headers["access-control-max-age"]) > 0

    refused = await cors_app.options(
        "/api/v1/ledger/transfers",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers

    tenant = await make_tenant(session)
    response = await cors_app.get(
        "/api/v1/auth/verify", headers={**tenant.headers, "Origin": ORIGIN}
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    exposed = response.headers["access-control-expose-headers"].lower()
    for header in (
        "idempotency-replayed",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "retry-after",
        "x-request-id",
    ):
        assert header in exposed
    _secure(response)


def test_origins_from_the_environment(monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "https://a.example, https://b.example/")
    assert Settings().cors_allow_origins == ["https://a.example", "https://b.example"]
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", '["*"]')
    assert Settings().cors_allow_origins == ["*"]
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "app.example.com")
    with pytest.raises(ValueError, match="CORS origin"):
        Settings()
    monkeypatch.delenv("CORS_ALLOW_ORIGINS")
    assert Settings().cors_allow_origins == []
