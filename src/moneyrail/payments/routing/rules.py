"""Choosing providers for a payment: pure rule matching, no I/O.

A tenant's rules are tried in order; the first whose conditions all hold gives the ordered
provider list, and a payment falls back along it (the service moves to the next provider
only when the previous one refused before accepting). No rule matching → the tenant's
default list → the built-in order for the currency, so routing works before any setup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

PAYMENT_PROVIDERS: tuple[str, ...] = (
    "stripe",
    "paypal",
    "razorpay",
    "paystack",
    "flutterwave",
    "chapa",
)
# The providers whose connectors offer subscriptions (`registry.SUBSCRIPTION_METHODS`);
# a test checks this list against the connectors.
SUBSCRIPTION_PROVIDERS: tuple[str, ...] = ("stripe", "paypal", "razorpay", "paystack")

# Where each provider is strongest, used when a tenant configured nothing.
_BUILTIN_BY_CURRENCY: dict[str, tuple[str, ...]] = {
    "INR": ("razorpay", "stripe", "paypal"),
    "NGN": ("paystack", "flutterwave"),
    "GHS": ("paystack", "flutterwave"),
    "ZAR": ("paystack", "flutterwave", "stripe"),
    "KES": ("paystack", "flutterwave"),
    "ETB": ("chapa",),
    "UGX": ("flutterwave",),
    "TZS": ("flutterwave",),
    "RWF": ("flutterwave",),
    "XOF": ("flutterwave",),
    "XAF": ("flutterwave",),
    "ZMW": ("flutterwave",),
    "EGP": ("flutterwave",),
    "MWK": ("flutterwave",),
}
_BUILTIN_DEFAULT: tuple[str, ...] = ("stripe", "paypal")
BUILTIN_CURRENCIES: tuple[str, ...] = tuple(_BUILTIN_BY_CURRENCY)


@dataclass(frozen=True)
class Rule:
    providers: tuple[str, ...]
    currency: str | None = None
    country: str | None = None
    method: str | None = None
    amount_min: int | None = None  # minor units, inclusive
    amount_max: int | None = None  # minor units, inclusive

    def matches(self, payment: PaymentFacts) -> bool:
        if self.currency is not None and self.currency != payment.currency:
            return False
        if self.country is not None and self.country != payment.country:
            return False
        if self.method is not None and self.method != payment.method:
            return False
        if self.amount_min is not None and payment.amount < self.amount_min:
            return False
        return self.amount_max is None or payment.amount <= self.amount_max


@dataclass(frozen=True)
class PaymentFacts:
    """What routing may look at."""

    amount: int
    currency: str
    country: str | None = None
    method: str | None = None


@dataclass(frozen=True)
class RoutingTable:
    rules: tuple[Rule, ...] = ()
    default: tuple[str, ...] = ()
    # Providers the tenant may use at all (e.g. live credentials present); None: any.
    enabled: frozenset[str] | None = field(default=None)


def builtin_order(currency: str) -> tuple[str, ...]:
    return _BUILTIN_BY_CURRENCY.get(currency, _BUILTIN_DEFAULT)


def route(table: RoutingTable, payment: PaymentFacts) -> list[str]:
    """The providers to try, in order, without repeats and restricted to `enabled`."""
    chosen: Sequence[str] | None = None
    for rule in table.rules:
        if rule.matches(payment):
            chosen = rule.providers
            break
    if chosen is None:
        chosen = table.default or builtin_order(payment.currency)
    order: list[str] = []
    for provider in chosen:
        if provider in order:
            continue
        if table.enabled is not None and provider not in table.enabled:
            continue
        order.append(provider)
    return order
