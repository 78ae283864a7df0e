"""OpenTelemetry spans for requests, SQL and provider calls — only when an OTLP endpoint is
configured (`OTEL_EXPORTER_OTLP_ENDPOINT`); otherwise nothing is imported or wrapped, so
tracing costs nothing.

Spans: one per HTTP request (FastAPI), one per statement on the driver (asyncpg — which
also covers the fast path that bypasses SQLAlchemy), one per outbound HTTP call (httpx:
payment providers, messaging, webhook deliveries). Install with `pip install
'moneyrail[tracing]'`.
"""

from __future__ import annotations

from typing import Any

import structlog

log = structlog.get_logger(__name__)

_configured: dict[str, Any] = {}


def configure_tracing(
    app: Any, *, endpoint: str | None, service_name: str, exporter: Any = None
) -> bool:
    """Instrument `app` and the drivers when `endpoint` (or a test `exporter`) is given."""
    if not endpoint and exporter is None:
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError:
        log.warning(
            "tracing.unavailable",
            reason="OTEL_EXPORTER_OTLP_ENDPOINT is set but the tracing extra is not installed",
        )
        return False
    provider = _configured.get("provider")
    if provider is None:
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            assert endpoint is not None
            traces = endpoint.rstrip("/")
            if not traces.endswith("/v1/traces"):
                traces += "/v1/traces"
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces)))
        else:
            provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        # Process-wide: every driver connection and HTTP client made from now on.
        AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
        HTTPXClientInstrumentor().instrument(tracer_provider=provider)
        _configured["provider"] = provider
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls="monitoring/health,/metrics"
    )
    log.info("tracing.enabled", endpoint=endpoint, service_name=service_name)
    return True


def shutdown_tracing() -> None:
    """Flush spans and take the process-wide instrumentation off (tests, shutdown)."""
    provider = _configured.pop("provider", None)
    if provider is None:
        return
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
    HTTPXClientInstrumentor().uninstrument()
    provider.shutdown()
