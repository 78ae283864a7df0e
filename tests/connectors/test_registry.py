"""The payment connector registry and the sandbox command line."""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner

from moneyrail.connectors.base import (
    CreatePayment,
    Credentials,
    Environment,
    PaymentStatus,
    ProviderNotSupported,
)
from moneyrail.connectors.registry import (
    PAYMENT_PROVIDERS,
    UnknownPaymentProvider,
    payment_connector,
    sandbox_base_url,
    supports_subscriptions,
    verify_webhook,
)
from moneyrail.core.money import Money
from moneyrail.core.settings import get_settings
from moneyrail.sandbox.app import create_sandbox_app
from moneyrail.sandbox.cli import app as sandbox_cli
from tests.sandbox.helpers import hook

VALUES = {
    "stripe": {"secret_key": "sk_test_registry"},
    "paypal": {"client_id": "AVregistry", "client_secret": "EKregistry"},
    "razorpay": {"key_id": "rzp_test_registry", "key_secret": "secret"},
    "paystack": {"secret_key": "sk_test_registry"},
    "flutterwave": {"secret_key": "FLWSECK_TEST-registry", "secret_hash": "hash"},
    "chapa": {"secret_key": "CHASECK_TEST-registry", "secret_hash": "hash"},
}


@pytest.mark.parametrize("provider", PAYMENT_PROVIDERS)
async def test_every_provider_has_a_connector_going_to_its_sandbox(provider: str) -> None:
    creds = Credentials(provider, Environment.test, VALUES[provider])
    connector = payment_connector(provider, creds)
    assert connector.name == provider
    base = get_settings().public_base_url.rstrip("/")
    assert sandbox_base_url(provider) == f"{base}/sandbox/{provider}"
    if provider in ("stripe", "paypal", "razorpay"):
        assert supports_subscriptions(connector)
    await connector.aclose()


@pytest.mark.parametrize("provider", ["stripe", "paypal", "razorpay"])
async def test_live_credentials_go_to_the_real_host(provider: str) -> None:
    connector = payment_connector(
        provider, Credentials(provider, Environment.live, VALUES[provider])
    )
    http = connector.http  # type: ignore[attr-defined]
    assert http.base_url.startswith("https://api") and "sandbox" not in http.base_url
    await connector.aclose()


def test_unknown_provider_and_mismatched_credentials() -> None:
    with pytest.raises(UnknownPaymentProvider):
        payment_connector("venmo", Credentials("venmo", Environment.test, {}))
    with pytest.raises(UnknownPaymentProvider):
        payment_connector("stripe", Credentials("paypal", Environment.test, VALUES["paypal"]))


async def test_registry_connector_runs_against_the_mounted_sandbox() -> None:
    transport = httpx.ASGITransport(app=create_sandbox_app(open_hooks=True))
    creds = Credentials("razorpay", Environment.test, VALUES["razorpay"], ("whsec",))
    connector = payment_connector(
        "razorpay", creds, base_url="http://sandbox/razorpay", transport=transport
    )
    created = await connector.create_payment(
        CreatePayment(reference="pay_r", amount=Money(10_000, "INR"), idempotency_key="k")
    )
    assert created.status is PaymentStatus.requires_action
    with pytest.raises(ProviderNotSupported):
        await connector.cancel(created.provider_payment_id, idempotency_key="c")
    signed = (
        await hook(
            transport,
            "razorpay",
            "/_sandbox/webhooks",
            {"object_id": created.provider_payment_id, "event": "order.paid", "secret": "whsec"},
        )
    ).json()
    event = await verify_webhook(
        connector,
        headers=signed["headers"],
        body=signed["body"].encode(),
        secrets=("whsec",),
        url="",
    )
    assert event.object_id == created.provider_payment_id
    await connector.aclose()


def test_sandbox_cli_lists_and_documents_serve() -> None:
    runner = CliRunner()
    listed = runner.invoke(sandbox_cli, ["list"])
    assert listed.exit_code == 0 and {"stripe", "paypal", "razorpay"} <= set(listed.output.split())
    helped = runner.invoke(sandbox_cli, ["serve", "--help"])
    assert helped.exit_code == 0 and "--port" in helped.output
