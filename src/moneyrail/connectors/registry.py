"""Which connector serves which payment provider.

`payment_connector("stripe", credentials)` builds the provider's connector. Test-mode
credentials go to our in-process sandbox (`{PUBLIC_BASE_URL}/sandbox/<provider>`) unless a
base URL is given; live credentials go to the provider's real host. Provider modules are
imported on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import cast

import httpx

from moneyrail.connectors.base import Credentials, Environment, PaymentConnector, WebhookEvent
from moneyrail.connectors.http import LIVE_BASE_URLS, sandbox_base_url
from moneyrail.core.errors import Unprocessable

__all__ = [
    "LIVE_BASE_URLS",
    "PAYMENT_PROVIDERS",
    "UnknownPaymentProvider",
    "payment_connector",
    "sandbox_base_url",
    "supports_subscriptions",
    "verify_webhook",
]

CONNECTOR_CLASSES: Mapping[str, str] = {
    "stripe": "StripeConnector",
    "paypal": "PayPalConnector",
    "razorpay": "RazorpayConnector",
    "paystack": "PaystackConnector",
    "flutterwave": "FlutterwaveConnector",
    "chapa": "ChapaConnector",
}
PAYMENT_PROVIDERS = tuple(CONNECTOR_CLASSES)
SUBSCRIPTION_METHODS = (
    "create_plan",
    "create_subscription",
    "get_subscription",
    "cancel_subscription",
    "pause_subscription",
    "resume_subscription",
)


class UnknownPaymentProvider(Unprocessable):
    code = "unknown_payment_provider"
    title = "Unknown payment provider"


def payment_connector(
    provider: str,
    credentials: Credentials,
    *,
    base_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> PaymentConnector:
    """The connector for `provider`, speaking for the tenant whose `credentials` these are.

    Raises:
        UnknownPaymentProvider: `provider` is not a payment provider moneyrail knows.
    """
    class_name = CONNECTOR_CLASSES.get(provider)
    if class_name is None:
        raise UnknownPaymentProvider(
            f"{provider!r} is not one of {', '.join(PAYMENT_PROVIDERS)}",
            extra={"provider": provider},
        )
    if credentials.provider != provider:
        raise UnknownPaymentProvider(
            f"credentials for {credentials.provider!r} cannot be used with {provider!r}"
        )
    if base_url is None and credentials.environment is Environment.test:
        base_url = sandbox_base_url(provider)
    module = importlib.import_module(f"moneyrail.connectors.{provider}")
    connector_class = getattr(module, class_name)
    return cast(
        PaymentConnector, connector_class(credentials, base_url=base_url, transport=transport)
    )


def supports_subscriptions(connector: PaymentConnector) -> bool:
    return all(callable(getattr(connector, name, None)) for name in SUBSCRIPTION_METHODS)


async def verify_webhook(
    connector: PaymentConnector,
    *,
    headers: Mapping[str, str],
    body: bytes,
    secrets: tuple[str, ...],
    url: str,
) -> WebhookEvent:
    """Verify an inbound webhook with whichever form the connector offers: PayPal's needs a
    network call (its signing certificate), the others verify locally."""
    verify_async = getattr(connector, "verify_webhook_async", None)
    if callable(verify_async):
        event = await verify_async(headers=headers, body=body, secrets=secrets, url=url)
        return cast(WebhookEvent, event)
    return connector.verify_webhook(headers=headers, body=body, secrets=secrets, url=url)
