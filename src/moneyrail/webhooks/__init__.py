"""Signed outbound webhooks to tenants: endpoints, deliveries, attempts."""
