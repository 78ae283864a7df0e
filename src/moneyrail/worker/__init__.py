"""The outbox worker: claim loops, leases, graceful shutdown and metrics for the work the
domains register in `core.jobs` (outbox handlers, pumps, scheduled jobs)."""
