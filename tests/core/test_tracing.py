"""Tracing: off and free unless configured; when on, a request leaves a span for itself and
one per SQL statement, the fast path's included."""

from __future__ import annotations

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine

from moneyrail.core.db import Database
from moneyrail.core.settings import Settings
from moneyrail.core.tracing import configure_tracing, shutdown_tracing
from moneyrail.main import create_app
from tests.conftest import _started
from tests.factories import make_live_tenant


def test_tracing_is_off_without_an_endpoint(settings: Settings) -> None:
    app = create_app(settings)
    assert settings.otel_exporter_otlp_endpoint is None
    assert not configure_tracing(app, endpoint=None, service_name="moneyrail")
    assert not any(m.__class__.__name__ == "OpenTelemetryMiddleware" for m in app.user_middleware)


async def test_a_request_is_traced_with_its_sql(settings: Settings, engine: AsyncEngine) -> None:
    exporter = InMemorySpanExporter()
    app = create_app(settings)
    assert configure_tracing(app, endpoint=None, service_name="moneyrail-test", exporter=exporter)
    try:
        app.state.db = Database(engine)
        tenant = await make_live_tenant(engine)
        async for started in _started(app):
            transport = httpx.ASGITransport(app=started)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                response = await client.post(
                    "/api/v1/ledger/accounts",
                    json={"name": "Traced", "code": "traced", "kind": "asset", "currency": "INR"},
                    headers=tenant.with_idempotency(),
                )
            assert response.status_code in (200, 201), response.text
    finally:
        shutdown_tracing()
    names = [span.name for span in exporter.get_finished_spans()]
    assert any("/api/v1/ledger/accounts" in name for name in names), names
    sql = [s for s in exporter.get_finished_spans() if s.attributes and "db.system" in s.attributes]
    assert sql, names
    assert all(s.resource.attributes["service.name"] == "moneyrail-test" for s in sql)
