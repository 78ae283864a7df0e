from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.roles import Role
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


async def test_stats(client: httpx.AsyncClient, session: AsyncSession) -> None:
    tenant = await make_tenant(session, role=Role.admin)
    viewer = await add_api_key(session, tenant, role=Role.viewer)
    assert (await client.get("/monitoring/stats/system")).status_code == 401
    assert (await client.get("/monitoring/stats/cache", headers=viewer.headers)).status_code == 403
    system = (await client.get("/monitoring/stats/system", headers=tenant.headers)).json()
    assert system["memory"]["total_bytes"] > 0
    cache = (await client.get("/monitoring/stats/cache", headers=tenant.headers)).json()
    assert cache["backend"] in ("memory", "redis")


async def test_openapi_and_docs(client: httpx.AsyncClient) -> None:
    schema = (await client.get("http://testserver/openapi.json")).json()
    assert schema["info"]["title"] == "moneyrail"
    assert any(tag["name"] == "ledger" for tag in schema["tags"])
    assert (await client.get("http://testserver/docs")).status_code == 200
    assert (await client.get("http://testserver/redoc")).status_code == 200
