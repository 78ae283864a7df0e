"""The worker's own Prometheus metrics (on the process registry; `moneyrail worker
--metrics-port` serves them). Domains define the metrics of their pumps beside them."""

from __future__ import annotations

from prometheus_client import Counter

from moneyrail.core.metrics import registry

outbox_events = Counter(
    "moneyrail_outbox_events",
    "Outbox events processed, by outcome (done, retry, failed).",
    ["outcome"],
    registry=registry,
)
