from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from moneyrail.auth.roles import Role
from moneyrail.core.db import Database, bypass_tenant_scope
from moneyrail.core.settings import Environment, Settings
from moneyrail.identity.service import identity
from moneyrail.main import create_app
from tests.conftest import problem
from tests.factories import add_api_key, make_tenant


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert (await client.get("/monitoring/health/live")).status_code == 200


async def test_ready_and_detailed(client: httpx.AsyncClient) -> None:
    ready = await client.get("/monitoring/health/ready")
    assert ready.status_code == 200, ready.text
    detailed = (await client.get("/monitoring/health/detailed")).json()
    assert detailed["checks"]["database"]["status"] == "up"
    assert "latency_ms" in detailed["checks"]["cache"]


async def test_metrics_parse_with_route_templates(client: httpx.AsyncClient) -> None:
    await client.get("/monitoring/health/live")
    await client.get("/nope/123")
    text = (await client.get("/monitoring/metrics")).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    histogram = families["moneyrail_http_request_duration_seconds"]
    assert histogram.type == "histogram"
    routes = {s.labels["route"] for s in histogram.samples}
    assert "/api/v1/monitoring/health/live" in routes
    assert not any("123" in r for r in routes)
    assert "moneyrail_db_pool_connections_in_use" in families
    assert "moneyrail_build_info" in families or "moneyrail_build" in families
    root = await client.get("http://testserver/metrics")
    assert root.status_code == 200


async def test_route_template_keeps_path_parameters() -> None:
    from fastapi import APIRouter, FastAPI

    from moneyrail.core.http import route_template

    app = FastAPI()
    router = APIRouter(prefix="/ledger")

    @router.get("/accounts/{account_id}")
    async def get_account(account_id: str) -> dict[str, str]:
        return {"id": account_id}

    app.include_router(router, prefix="/api/v1")
    seen: list[str] = []

    @app.middleware("http")
    async def capture(request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        seen.append(route_template(request.scope))
        return response

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/api/v1/ledger/accounts/acct_1")).status_code == 200
    assert seen == ["/api/v1/ledger/accounts/{account_id}"]


async def _platform_admin_headers(
    client: httpx.AsyncClient, session: AsyncSession
) -> dict[str, str]:
    await bypass_tenant_scope(session)
    email = f"root-{uuid.uuid4().hex[:8]}@example.com"
    password = f"pw-{uuid.uuid4().hex}"
    await identity.create_user(
        session,
        tenant_id=None,
        email=email,
        password=password,
        role=Role.owner,
        platform_admin=True,
    )
    tokens = await client.post(
        "/auth/token", data={"grant_type": "password", "username": email, "password": password}
    )
    assert tokens.status_code == 200, tokens.text
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


async def test_stats_are_for_platform_admins_only(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session, role=Role.owner)
    admin = await add_api_key(session, tenant, role=Role.admin)
    viewer = await add_api_key(session, tenant, role=Role.viewer)
    for path in ("/monitoring/stats/system", "/monitoring/stats/cache"):
        problem(await client.get(path), 401)
        # A tenant's owner or administrator sees no installation-wide figure.
        for key in (tenant, admin, viewer):
            problem(await client.get(path, headers=key.headers), 403)
    headers = await _platform_admin_headers(client, session)
    system = (await client.get("/monitoring/stats/system", headers=headers)).json()
    assert system["memory"]["total_bytes"] > 0
    cache = (await client.get("/monitoring/stats/cache", headers=headers)).json()
    assert cache["backend"] in ("memory", "redis")


OPERATOR_PATHS = (
    "http://testserver/metrics",
    "/monitoring/metrics",
    "/monitoring/health/detailed",
)


async def _app_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver/api/v1"
    )


async def test_metrics_token_guards_the_operator_surface(
    settings: Settings, engine: AsyncEngine, session: AsyncSession
) -> None:
    token = "operator-" + uuid.uuid4().hex
    app = create_app(settings.model_copy(update={"metrics_token": SecretStr(token)}))
    app.state.db = Database(engine)
    tenant = await make_tenant(session, role=Role.owner)
    async with app.router.lifespan_context(app), await _app_client(app) as client:
        for path in OPERATOR_PATHS:
            problem(await client.get(path), 401, "operator_token_required")
            wrong = {"Authorization": f"Bearer {token}x"}
            problem(await client.get(path, headers=wrong), 401, "operator_token_required")
            # A tenant's own credential is not the operator's token.
            problem(await client.get(path, headers=tenant.headers), 401)
            ok = await client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert ok.status_code == 200, (path, ok.text)
        # Probes stay public.
        for path in ("/health", "/monitoring/health/live", "/monitoring/health/ready"):
            assert (await client.get(path)).status_code == 200


async def test_production_without_a_token_hides_the_operator_surface(
    settings: Settings, engine: AsyncEngine
) -> None:
    production = settings.model_copy(
        update={"environment": Environment.production, "sandbox_mount": False}
    )
    app = create_app(production)
    app.state.db = Database(engine)
    async with app.router.lifespan_context(app), await _app_client(app) as client:
        for path in OPERATOR_PATHS:
            problem(await client.get(path), 404)
            problem(await client.get(path, headers={"Authorization": "Bearer anything"}), 404)
        assert (await client.get("/monitoring/health/live")).status_code == 200
        assert (await client.get("/monitoring/health/ready")).status_code == 200


async def test_openapi_and_docs(client: httpx.AsyncClient) -> None:
    schema = (await client.get("http://testserver/openapi.json")).json()
    assert schema["info"]["title"] == "moneyrail"
    assert any(tag["name"] == "ledger" for tag in schema["tags"])
    assert (await client.get("http://testserver/docs")).status_code == 200
    assert (await client.get("http://testserver/redoc")).status_code == 200
