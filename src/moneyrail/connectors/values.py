"""Provider values read and written: references derived from idempotency keys, timestamps,
amounts in minor and major units, and signed webhook bodies parsed."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from moneyrail.connectors.base import (
    InvalidWebhookSignature,
    PaymentStatus,
    ProviderNotSupported,
    ProviderPayment,
)
from moneyrail.core import limits
from moneyrail.core.money import Money, exponent


def digest_reference(idempotency_key: str, allowed: re.Pattern[str]) -> str:
    """A provider's transaction reference for an idempotency key: the key itself when it is
    short enough and uses only `allowed` characters, otherwise a digest of it. The same key
    always yields the same reference."""
    if len(idempotency_key) <= limits.provider_reference_length_max and allowed.match(
        idempotency_key
    ):
        return idempotency_key
    return "mr-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]


def iso_timestamp(value: object) -> datetime | None:
    """An ISO 8601 time from a provider, or None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def utc_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 time (`Z` allowed) in UTC, or None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def unix_timestamp(value: Any) -> datetime | None:
    """A Unix time in whole seconds from a provider, or None."""
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else None


def minor_money(obj: Mapping[str, Any]) -> Money:
    """`{"amount": 1050, "currency": "usd"}` (integer minor units) as Money."""
    return Money(int(obj["amount"]), str(obj["currency"]).upper())


def captured_on_payment(
    payment: ProviderPayment,
    amount: Money | None,
    *,
    provider: str,
    settled: Collection[PaymentStatus],
) -> ProviderPayment:
    """`capture()` for providers that capture when the customer pays: the payment when it
    is already settled. Raises: ProviderNotSupported (not yet paid, or a partial capture)."""
    if amount is not None and amount != payment.amount:
        raise ProviderNotSupported(f"{provider} does not capture part of a payment")
    if payment.status in settled:
        return payment
    raise ProviderNotSupported(f"{provider} captures payments when the customer pays")


def webhook_json(body: bytes, loads: Callable[[bytes], Any] = json.loads) -> Any:
    """A signed webhook body parsed. Raises: InvalidWebhookSignature (not JSON)."""
    try:
        return loads(body)
    except ValueError as exc:
        raise InvalidWebhookSignature("webhook body is not JSON") from exc


def major_units(money: Money) -> str:
    """`Money(1050, "USD")` → `"10.50"`: the decimal string some providers take."""
    return f"{money.to_decimal():.{exponent(money.currency)}f}"


def from_major_units(value: str | int | float | Decimal, currency: str) -> Money:
    return Money.parse(str(value), currency.upper())
