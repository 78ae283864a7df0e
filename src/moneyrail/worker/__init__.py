"""The outbox worker: event relay, webhook deliveries and scheduled jobs."""
