"""Payments across providers: payments, refunds, subscriptions, routing, credentials."""
