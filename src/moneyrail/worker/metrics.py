"""The worker's Prometheus metrics (on the process registry; `moneyrail worker
--metrics-port` serves them)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from moneyrail.core.metrics import registry

outbox_events = Counter(
    "moneyrail_outbox_events",
    "Outbox events processed, by outcome (done, retry, failed).",
    ["outcome"],
    registry=registry,
)
webhook_attempts = Counter(
    "moneyrail_webhook_attempts",
    "Webhook delivery attempts, by outcome (delivered, retry, failed).",
    ["outcome"],
    registry=registry,
)
webhook_attempt_duration = Histogram(
    "moneyrail_webhook_attempt_duration_seconds",
    "Time from sending a webhook to its answer (or error).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=registry,
)
