"""The Paystack, Flutterwave and Chapa sandboxes as a payer and a merchant's server see them:
the hosted checkout page, the redirect back to the shop, error shapes, and webhooks delivered
by themselves to a URL set in their settings (over real HTTP)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from moneyrail.connectors.base import CreatePayment, Credentials, Customer, Environment
from moneyrail.connectors.chapa import ChapaConnector
from moneyrail.connectors.flutterwave import FlutterwaveConnector
from moneyrail.connectors.paystack import PaystackConnector
from moneyrail.core.money import Money
from moneyrail.sandbox.app import create_sandbox_app
from tests.sandbox.helpers import hook

SERVER_START_SECONDS = 10.0
DELIVERY_WAIT_SECONDS = 5.0
SHOP = "https://shop.example.com/return"

PROVIDERS: dict[str, dict[str, Any]] = {
    "paystack": {
        "connector": PaystackConnector,
        "key": "sk_test_5c0ffee",
        "currency": "NGN",
        "unauthorized": {"status": False, "message": "Invalid key"},
        "missing": ("/transaction/verify/nope", 404, {"status": False}),
        "returned": ("reference",),
    },
    "flutterwave": {
        "connector": FlutterwaveConnector,
        "key": "FLWSECK_TEST-5c0ffee-X",
        "currency": "NGN",
        "unauthorized": {
            "status": "error",
            "message": "Invalid authorization key",
            "data": None,
        },
        "missing": ("/v3/transactions/1/verify", 400, {"status": "error", "data": None}),
        "returned": ("status", "tx_ref", "transaction_id"),
    },
    "chapa": {
        "connector": ChapaConnector,
        "key": "CHASECK_TEST-5c0ffee",
        "currency": "ETB",
        "unauthorized": {
            "message": "Invalid API Key or User doesn't exist",
            "status": "failed",
            "data": None,
        },
        "missing": ("/v1/transaction/verify/nope", 404, {"status": "failed", "data": None}),
        "returned": ("trx_ref", "status"),
    },
}
HASH = "secret-hash-5c0ffee"


class Receiver:
    """A merchant's webhook endpoint on a free local port: keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Event()

        async def endpoint(request: Request) -> PlainTextResponse:
            self.received.append((dict(request.headers), await request.body()))
            self.arrived.set()
            return PlainTextResponse("ok")

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        app = Starlette(routes=[Route("/hooks", endpoint, methods=["POST"])])
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not receiver.server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the webhook receiver did not start")
        time.sleep(0.02)
    yield receiver
    receiver.server.should_exit = True
    thread.join(SERVER_START_SECONDS)


def connector(provider: str, transport: httpx.AsyncBaseTransport) -> Any:
    spec = PROVIDERS[provider]
    credentials = Credentials(provider, Environment.test, {"secret_key": spec["key"]}, (HASH,))
    return spec["connector"](
        credentials, base_url=f"http://sandbox/{provider}", transport=transport
    )


def create(provider: str, key: str) -> CreatePayment:
    return CreatePayment(
        reference="pay_01",
        amount=Money(150_000, PROVIDERS[provider]["currency"]),
        idempotency_key=key,
        customer=Customer(email="ada@example.com", name="Ada Obi"),
        return_url=SHOP,
    )


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
async def test_checkout_page_and_redirect_to_the_shop(provider: str) -> None:
    transport = httpx.ASGITransport(app=create_sandbox_app(open_hooks=True))
    payment = await connector(provider, transport).create_payment(create(provider, "k-1"))
    async with httpx.AsyncClient(transport=transport) as browser:
        page = await browser.get(payment.next_action_url)
        assert page.status_code == 200 and "1500" in page.text and "<form" in page.text
        paid = await browser.post(payment.next_action_url, data={"outcome": "success"})
        assert paid.status_code == 303
        location = httpx.URL(paid.headers["location"])
        assert str(location).startswith(SHOP)
        assert set(PROVIDERS[provider]["returned"]) <= set(location.params)
        again = await browser.post(payment.next_action_url, data={"outcome": "success"})
        assert again.status_code == 400


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
async def test_error_shapes(provider: str) -> None:
    transport = httpx.ASGITransport(app=create_sandbox_app(open_hooks=True))
    spec = PROVIDERS[provider]
    path, status, shape = spec["missing"]
    bad = await hook(transport, provider, path, method="GET", headers={"Authorization": "Bearer x"})
    assert (bad.status_code, bad.json()) == (401, spec["unauthorized"])
    auth = {"Authorization": f"Bearer {spec['key']}"}
    missing = await hook(transport, provider, path, method="GET", headers=auth)
    assert missing.status_code == status
    assert shape.items() <= missing.json().items()
    assert isinstance(missing.json()["message"], str)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
async def test_events_are_delivered_signed_to_the_configured_url(
    provider: str, receiver: Receiver
) -> None:
    transport = httpx.ASGITransport(app=create_sandbox_app(open_hooks=True))
    auth = {"Authorization": f"Bearer {PROVIDERS[provider]['key']}"}
    settings = {"webhook_url": receiver.url, "secret_hash": HASH}
    await hook(transport, provider, "/_sandbox/settings", settings, headers=auth)
    conn = connector(provider, transport)
    payment = await conn.create_payment(create(provider, f"deliver-{provider}"))
    receiver.arrived.clear()
    async with httpx.AsyncClient(transport=transport) as browser:
        await browser.post(payment.next_action_url, json={"outcome": "success"})
    assert await asyncio.to_thread(receiver.arrived.wait, DELIVERY_WAIT_SECONDS)
    headers, body = receiver.received[-1]
    event = conn.verify_webhook(headers=headers, body=body, secrets=(), url=receiver.url)
    assert event.object_type == "payment"
    assert event.object_id == payment.provider_payment_id
    await conn.aclose()


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
async def test_accounts_do_not_share_references(provider: str) -> None:
    transport = httpx.ASGITransport(app=create_sandbox_app(open_hooks=True))
    spec = PROVIDERS[provider]
    other_key = spec["key"].replace("5c0ffee", "0ther")
    mine = connector(provider, transport)
    theirs = spec["connector"](
        Credentials(provider, Environment.test, {"secret_key": other_key}),
        base_url=f"http://sandbox/{provider}",
        transport=transport,
    )
    first = await mine.create_payment(create(provider, "same-key"))
    second = await theirs.create_payment(create(provider, "same-key"))
    assert first.next_action_url != second.next_action_url
    async with httpx.AsyncClient(transport=transport) as browser:
        await browser.post(first.next_action_url, json={"outcome": "success"})
    assert (await mine.get_payment("same-key")).status.value == "captured"
    if provider != "flutterwave":  # there, an unpaid link has no transaction yet
        assert (await theirs.get_payment("same-key")).status.value == "requires_action"
