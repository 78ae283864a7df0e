"""Rows to response bodies."""

from __future__ import annotations

from moneyrail.connectors.base import (
    Environment,
)
from moneyrail.core.money import MoneyModel
from moneyrail.payments.credentials.schemas import (
    ServiceOut,
    StoredCredentialOut,
)
from moneyrail.payments.credentials.service import REQUIRED_FIELDS, StoredCredential
from moneyrail.payments.models import ProviderAccount
from moneyrail.payments.routing.rules import SUBSCRIPTION_PROVIDERS


def _money(amount: int, currency: str) -> MoneyModel:
    return MoneyModel(amount=amount, currency=currency)


def service_out(
    provider: str,
    account: ProviderAccount | None,
    stored: list[StoredCredential],
    *,
    webhook_url: str,
) -> ServiceOut:
    return ServiceOut(
        provider=provider,
        environment=Environment(account.environment) if account else Environment.test,
        connected=bool(stored),
        credentials=[
            StoredCredentialOut(
                environment=c.environment,
                fields=dict(c.hints),
                webhook_secrets=list(c.webhook_hints),
                updated_at=c.row.updated_at,
            )
            for c in stored
        ],
        required_fields=list(REQUIRED_FIELDS.get(provider, ())),
        supports_subscriptions=provider in SUBSCRIPTION_PROVIDERS,
        webhook_url=webhook_url,
    )
