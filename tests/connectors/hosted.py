"""The hosted-checkout providers (Paystack, Flutterwave, Chapa) as the connector tests
drive them: credentials, a payment request, the sandbox's test hooks and its checkout page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from moneyrail.connectors.base import CreatePayment, Credentials, Customer, Environment
from moneyrail.connectors.chapa import ChapaConnector
from moneyrail.connectors.flutterwave import FlutterwaveConnector
from moneyrail.connectors.paystack import PaystackConnector
from moneyrail.core.money import Money
from tests.sandbox.helpers import hook as sandbox_hook


async def checkout(transport: httpx.AsyncBaseTransport, url: str, outcome: str) -> None:
    """Pay (`"success"`) or decline (`"failed"`) on the sandbox's hosted checkout page."""
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.post(url, json={"outcome": outcome})
    assert response.status_code == 200, response.text


@dataclass(frozen=True)
class Hosted:
    provider: str
    connector_class: type[Any]
    key: str
    bad_key: str  # well-formed for some other use (a public key): refused by the API
    webhook_secrets: tuple[str, ...]
    amount: Money
    customer: Customer
    declined: CreatePayment  # a request the provider refuses (currency, missing e-mail)

    @property
    def base_url(self) -> str:
        return f"http://sandbox/{self.provider}"

    def connector(
        self, transport: httpx.AsyncBaseTransport, key: str | None = None, **kwargs: float
    ) -> Any:
        credentials = Credentials(
            self.provider, Environment.test, {"secret_key": key or self.key}, self.webhook_secrets
        )
        return self.connector_class(
            credentials, base_url=self.base_url, transport=transport, **kwargs
        )

    def request(
        self, key: str = "order-1001", amount: int | None = None, **kwargs: Any
    ) -> CreatePayment:
        return CreatePayment(
            reference="pay_01",
            amount=Money(self.amount.amount if amount is None else amount, self.amount.currency),
            idempotency_key=key,
            customer=self.customer,
            **kwargs,
        )

    async def hook(
        self, transport: httpx.AsyncBaseTransport, path: str, body: object
    ) -> httpx.Response:
        """One of the sandbox's own endpoints, called with the account's key."""
        headers = {"Authorization": f"Bearer {self.key}"}
        return await sandbox_hook(transport, self.provider, path, body, headers=headers)

    async def paid(self, connector: Any, transport: httpx.AsyncBaseTransport) -> str:
        """Create the default payment and pay it on the hosted page; its provider id."""
        payment = await connector.create_payment(self.request())
        assert payment.next_action_url
        await checkout(transport, payment.next_action_url, "success")
        return str(payment.provider_payment_id)


CHAPA = Hosted(
    provider="chapa",
    connector_class=ChapaConnector,
    key="CHASECK_TEST-3b9c2f4a1d0e",
    bad_key="CHAPUBK_TEST-public",
    webhook_secrets=("chapa-secret-hash",),
    amount=Money(40_050, "ETB"),
    customer=Customer(email="abebe@example.com", name="Abebe Bikila"),
    declined=CreatePayment(reference="pay_02", amount=Money(100, "EUR"), idempotency_key="o-3"),
)
FLUTTERWAVE = Hosted(
    provider="flutterwave",
    connector_class=FlutterwaveConnector,
    key="FLWSECK_TEST-5a1f0c9e8d7b-X",
    bad_key="FLWPUBK_TEST-public",
    webhook_secrets=("my-secret-hash-1",),
    amount=Money(1_050_050, "NGN"),
    customer=Customer(email="ada@example.com", name="Ada Obi"),
    declined=CreatePayment(reference="pay_02", amount=Money(100, "NGN"), idempotency_key="o-3"),
)
PAYSTACK = Hosted(
    provider="paystack",
    connector_class=PaystackConnector,
    key="sk_test_4f7a1c0b9e2d",
    bad_key="pk_test_public",
    webhook_secrets=(),
    amount=Money(50_000, "NGN"),
    customer=Customer(email="ada@example.com"),
    declined=CreatePayment(
        reference="pay_02",
        amount=Money(100, "EUR"),
        idempotency_key="o-3",
        customer=Customer(email="ada@example.com"),
    ),
)
HOSTED = (PAYSTACK, FLUTTERWAVE, CHAPA)
