"""The Paystack sandbox checked by outside oracles.

1. `pypaystack2` (community Paystack SDK; the official `paystacksdk` is not on the package
   index this project installs from), pointed at the sandbox served over real HTTP by
   overriding `pypaystack2.base_clients.AbstractAPIClient._BASE_URL` (its only base-URL
   hook): initialize, verify, refund and fetch a refund, each answer parsed by the SDK's own
   pydantic models, and its webhook check accepting the sandbox's signatures.
2. Paystack's published OpenAPI document (`tests/oracles/specs/paystack.yaml`, from
   PaystackOSS/openapi): every request our connector sends and every answer the sandbox gives
   on the way through a payment's life is validated against it with `openapi-core`.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from pypaystack2 import PaystackClient
from pypaystack2.base_clients import AbstractAPIClient
from pypaystack2.enums import Interval

from moneyrail.connectors.base import (
    CreatePayment,
    CreatePlan,
    CreateSubscription,
    Credentials,
    Customer,
    Environment,
    PaymentStatus,
    PlanInterval,
    ProviderDeclined,
)
from moneyrail.connectors.http import ProviderCredentialsRejected, ProviderObjectNotFound
from moneyrail.connectors.paystack import PaystackConnector
from moneyrail.core.money import Money
from moneyrail.sandbox.app import create_sandbox_app

# A fresh account per run: the served sandbox lives for the whole test session.
KEY = f"sk_test_{uuid.uuid4().hex}"
SPEC = Path(__file__).resolve().parent / "specs" / "paystack.yaml"


@pytest.fixture
def sdk(sandbox_server: str, monkeypatch: pytest.MonkeyPatch) -> PaystackClient:
    monkeypatch.setattr(AbstractAPIClient, "_BASE_URL", f"{sandbox_server}/paystack")
    return PaystackClient(secret_key=KEY)


def test_sdk_initialize_verify_refund(sdk: PaystackClient) -> None:
    init = sdk.transactions.initialize(amount=50_000, email="ada@example.com", reference="o-1")
    assert init.status is True and init.data is not None, init.raw
    assert init.data.reference == "o-1"
    paid = httpx.post(init.data.authorization_url, json={"outcome": "success"})
    assert paid.status_code == 200, paid.text

    verified = sdk.transactions.verify("o-1")
    assert verified.status is True and verified.data is not None, verified.raw
    assert (verified.data.status, verified.data.amount) == ("success", 50_000)
    assert verified.data.currency == "NGN" and verified.data.paid_at is not None

    refund = sdk.refunds.create(transaction="o-1", amount=20_000)
    assert refund.status is True and refund.data is not None, refund.raw
    assert (refund.data.amount, refund.data.status) == (20_000, "pending")
    fetched = sdk.refunds.get_refund(str(refund.data.id))
    # Paystack's OpenAPI document types the refund's `customer.metadata` as a string, the
    # SDK's model as an object; the sandbox follows the document, so the SDK leaves this one
    # answer unparsed (`data` None, `raw` kept).
    assert fetched.status is True, fetched.raw
    assert isinstance(fetched.raw, dict)
    assert fetched.raw["data"]["status"] == "processed"
    assert fetched.raw["data"]["transaction_reference"] == "o-1"

    over = sdk.refunds.create(transaction="o-1", amount=30_001)
    assert over.status is False and over.status_code == 400
    duplicate = sdk.transactions.initialize(amount=100, email="ada@example.com", reference="o-1")
    assert duplicate.status is False and duplicate.code == "duplicate_reference"
    missing = sdk.transactions.verify("no-such-reference")
    assert missing.status is False and missing.status_code == 404


def test_sdk_plans_and_subscriptions(sdk: PaystackClient) -> None:
    init = sdk.transactions.initialize(amount=20_000, email="sub@example.com", reference="o-s")
    assert init.data is not None
    httpx.post(init.data.authorization_url, json={"outcome": "success"})

    plan = sdk.plans.create(name="Gold", amount=500_000, interval=Interval.MONTHLY)
    assert plan.status is True and plan.data is not None, plan.raw
    created = sdk.subscriptions.create(customer="sub@example.com", plan=plan.data.plan_code)
    assert created.status is True and created.data is not None, created.raw
    code, token = created.data.subscription_code, created.data.email_token
    fetched = sdk.subscriptions.get_subscription(code)
    assert fetched.data is not None, fetched.raw
    assert (fetched.data.status, fetched.data.amount) == ("active", 500_000)

    assert sdk.subscriptions.disable(code=code, token=token).status is True
    assert sdk.subscriptions.disable(code=code, token=token).status is False
    assert sdk.subscriptions.enable(code=code, token=token).status is True
    again = sdk.subscriptions.get_subscription(code)
    assert again.data is not None and again.data.status == "active"


def test_sdk_rejected_key(sandbox_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AbstractAPIClient, "_BASE_URL", f"{sandbox_server}/paystack")
    answer = PaystackClient(secret_key="not-a-key").transactions.verify("o-1")
    assert answer.status is False and answer.status_code == 401
    assert answer.message == "Invalid key"


def test_sdk_accepts_sandbox_webhook_signatures(sdk: PaystackClient, sandbox_server: str) -> None:
    sdk.transactions.initialize(amount=7_500, email="ada@example.com", reference="o-hook")
    signed = httpx.post(
        f"{sandbox_server}/paystack/_sandbox/webhooks",
        json={"reference": "o-hook"},
        headers={"Authorization": f"Bearer {KEY}"},
    ).json()
    body = signed["body"].encode()
    header = signed["headers"]["x-paystack-signature"]
    assert sdk.is_verified_webhook_payload(body, header)
    assert not sdk.is_verified_webhook_payload(body + b" ", header)
    assert not PaystackClient(secret_key="sk_test_other").is_verified_webhook_payload(body, header)
    assert header == hmac.new(KEY.encode(), body, hashlib.sha512).hexdigest()


# --- the published OpenAPI document -------------------------------------------------------


class Recorder(httpx.AsyncBaseTransport):
    """Keeps every request and answer that passes through to the in-process sandbox."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        self.exchanges.append((request, httpx.Response(response.status_code, content=content)))
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is not present")
    document = yaml.load(SPEC.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))


def as_openapi(request: httpx.Request, response: httpx.Response) -> tuple[Any, Any]:
    path = request.url.path.removeprefix("/paystack")
    mock_request = MockRequest(
        "https://api.paystack.co",
        request.method.lower(),
        path,
        args=dict(request.url.params),
        headers=dict(request.headers),
        data=request.content or None,
        content_type=request.headers.get("content-type", "application/json"),
    )
    mock_response = MockResponse(
        response.content, status_code=response.status_code, content_type="application/json"
    )
    return mock_request, mock_response


async def test_connector_and_sandbox_follow_the_openapi_document(openapi: OpenAPI) -> None:
    recorder = Recorder(httpx.ASGITransport(app=create_sandbox_app(open_hooks=True)))

    def connector(key: str = KEY) -> PaystackConnector:
        credentials = Credentials("paystack", Environment.test, {"secret_key": key})
        return PaystackConnector(
            credentials, base_url="http://sandbox/paystack", transport=recorder
        )

    paystack = connector()
    request = CreatePayment(
        reference="pay_01",
        amount=Money(125_000, "GHS"),
        idempotency_key="spec-1",
        customer=Customer(email="ada@example.com"),
        return_url="https://shop.example.com/return",
        metadata={"order": "1001"},
    )
    payment = await paystack.create_payment(request)
    assert payment.next_action_url
    async with httpx.AsyncClient(transport=recorder) as client:
        await client.post(payment.next_action_url, json={"outcome": "success"})
    assert (await paystack.get_payment("spec-1")).status is PaymentStatus.captured
    refund = await paystack.refund("spec-1", amount=Money(25_000, "GHS"), idempotency_key="r1")
    await paystack.get_refund(refund.provider_refund_id)
    with pytest.raises(ProviderDeclined):
        await paystack.create_payment(
            CreatePayment(
                reference="pay_02",
                amount=Money(100, "EUR"),
                idempotency_key="spec-2",
                customer=Customer(email="ada@example.com"),
            )
        )
    assert (await paystack.create_payment(request)).provider_payment_id == "spec-1"
    with pytest.raises(ProviderObjectNotFound):
        await paystack.get_payment("spec-unknown")
    with pytest.raises(ProviderCredentialsRejected):
        await connector("sk_bad").get_payment("spec-1")
    plan = await paystack.create_plan(
        CreatePlan("Gold", Money(500_000, "GHS"), PlanInterval.year, idempotency_key="p1")
    )
    subscription = await paystack.create_subscription(
        CreateSubscription("sub_01", plan, "s1", customer=Customer(email="ada@example.com"))
    )
    code = subscription.provider_subscription_id
    await paystack.cancel_subscription(code, idempotency_key="c1")
    await paystack.resume_subscription(code, idempotency_key="r1")
    await paystack.aclose()

    checked = 0
    for sent, answered in recorder.exchanges:
        if "/_sandbox/" in sent.url.path:
            continue
        mock_request, mock_response = as_openapi(sent, answered)
        openapi.validate_request(mock_request)
        openapi.validate_response(mock_request, mock_response)
        checked += 1
    assert checked == 17
