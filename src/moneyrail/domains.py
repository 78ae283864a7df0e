"""The domains of moneyrail, in dependency order, with their OpenAPI tag descriptions.

`main.create_app` mounts `<domain>.api.router` for each that has one, and Alembic loads
`<domain>.models` for each that has one.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from types import ModuleType

DOMAINS: dict[str, str] = {
    "monitoring": "Health, readiness, liveness, metrics and system statistics.",
    "identity": "Sign-up, tokens (OAuth2), API keys, one-time passwords and the current user.",
    "audit": "The append-only, hash-chained audit log.",
    "admin": "Back-office operations for tenant administrators.",
    "ledger": "Double-entry ledger: accounts, transfers, holds, entries and reports.",
    "banking": "Customers, branches, bank accounts, deposits, withdrawals, loans and statements.",
    "payments": "Payments, refunds and subscriptions across payment providers, with routing.",
    "bills": "India's BBPS bill payments: billers, bill fetch and payment, complaints.",
    "trading": "Broker links, orders, trades, holdings and P&L.",
    "messaging": "SMS and e-mail with templates and delivery status.",
    "webhooks": "Signed outbound webhooks to tenants and verified inbound provider webhooks.",
    "credits": "Credit balances, plans, purchases and usage metering.",
    "analytics": "Overview, time series and request logs.",
    "connectors": "Provider credentials and connector configuration.",
}


def optional_module(name: str) -> ModuleType | None:
    """Import `moneyrail.<name>` when that module exists; import errors inside it propagate."""
    full = f"moneyrail.{name}"
    parent = full.rsplit(".", 1)[0]
    if importlib.util.find_spec(parent) is None or importlib.util.find_spec(full) is None:
        return None
    return importlib.import_module(full)


def load_models() -> None:
    for domain in DOMAINS:
        optional_module(f"{domain}.models")
    optional_module("core.models")


@functools.cache
def load_tasks() -> None:
    """Import every domain's `tasks` module so its outbox handlers, scheduled jobs and pumps
    register into `core.jobs` (once: the worker asks for handlers on every event)."""
    for domain in DOMAINS:
        optional_module(f"{domain}.tasks")
