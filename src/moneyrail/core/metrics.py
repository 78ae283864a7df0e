"""Prometheus metrics shared by the whole process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from moneyrail import __version__

registry = CollectorRegistry(auto_describe=True)

http_requests = Counter(
    "moneyrail_http_requests",
    "HTTP requests handled, by route template, method and status.",
    ["method", "route", "status"],
    registry=registry,
)
http_request_duration = Histogram(
    "moneyrail_http_request_duration_seconds",
    "HTTP request latency, by route template, method and status.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=registry,
)
db_pool_in_use = Gauge(
    "moneyrail_db_pool_connections_in_use",
    "Database connections checked out of the pool.",
    registry=registry,
)
db_pool_size = Gauge(
    "moneyrail_db_pool_size", "Database connections held by the pool.", registry=registry
)
build_info = Info("moneyrail_build", "Build information.", registry=registry)
build_info.info({"version": __version__})
