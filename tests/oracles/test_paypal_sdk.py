"""The PayPal sandbox checked by outside oracles.

1. The official `paypal-server-sdk`, pointed at the sandbox over real HTTP by overriding
   `Configuration.environments[Environment.SANDBOX][Server.DEFAULT]` (it has no base-URL
   argument): OAuth client credentials, create an order, capture it after the payer's
   approval, refund the capture; answers parsed into the SDK's own models.
2. PayPal's published OpenAPI documents (`tests/oracles/specs/paypal_*.json`, from
   paypal/paypal-rest-api-specifications): every JSON request our connector sends and every
   answer the sandbox gives along a payment's and a subscription's life are validated with
   `jsonschema` against the operation's schema.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from apimatic_core.exceptions.auth_validation_exception import AuthValidationException
from jsonschema import Draft4Validator
from paypalserversdk.configuration import Configuration, Environment, Server
from paypalserversdk.exceptions.error_exception import ErrorException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.models.amount_with_breakdown import AmountWithBreakdown
from paypalserversdk.models.checkout_payment_intent import CheckoutPaymentIntent
from paypalserversdk.models.money import Money as SdkMoney
from paypalserversdk.models.order_request import OrderRequest
from paypalserversdk.models.purchase_unit_request import PurchaseUnitRequest
from paypalserversdk.models.refund_request import RefundRequest
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from moneyrail.connectors.base import (
    CaptureMode,
    CreatePayment,
    CreatePlan,
    CreateSubscription,
    Customer,
    PlanInterval,
    ProviderDeclined,
)
from moneyrail.connectors.paypal import PayPalConnector
from moneyrail.core.money import Money
from moneyrail.sandbox.app import create_sandbox_app
from tests.sandbox.helpers import credentials

CLIENT_ID = "AVoracleClient"
CLIENT_SECRET = "EKoracleSecret"
SPECS = Path(__file__).resolve().parent / "specs"
SPEC_FILES = (
    "paypal_checkout_orders_v2.json",
    "paypal_payments_payment_v2.json",
    "paypal_billing_subscriptions_v1.json",
    "paypal_notifications_webhooks_v1.json",
)


@pytest.fixture
def sdk(sandbox_server: str, monkeypatch: pytest.MonkeyPatch) -> PaypalServersdkClient:
    monkeypatch.setitem(
        Configuration.environments[Environment.SANDBOX], Server.DEFAULT, f"{sandbox_server}/paypal"
    )
    return PaypalServersdkClient(
        client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
            o_auth_client_id=CLIENT_ID, o_auth_client_secret=CLIENT_SECRET
        ),
        environment=Environment.SANDBOX,
    )


def capture_order_request(value: str) -> OrderRequest:
    """An order of `value` USD, captured whole (intent CAPTURE)."""
    return OrderRequest(
        intent=CheckoutPaymentIntent.CAPTURE,
        purchase_units=[
            PurchaseUnitRequest(amount=AmountWithBreakdown(currency_code="USD", value=value))
        ],
    )


def test_sdk_order_capture_refund(sdk: PaypalServersdkClient, sandbox_server: str) -> None:
    created = sdk.orders.create_order(
        {
            "body": capture_order_request("100.00"),
            "prefer": "return=representation",
            "paypal_request_id": "oracle-order-1",
        }
    )
    assert created.status_code == 201
    order = created.body
    assert order.status == "CREATED" and len(order.id) == 17
    approve = next(link.href for link in order.links if link.rel == "approve")
    assert httpx.get(approve).status_code == 200
    with pytest.raises(ErrorException):
        sdk.orders.authorize_order({"id": order.id})
    captured = sdk.orders.capture_order({"id": order.id, "prefer": "return=representation"}).body
    assert captured.status == "COMPLETED"
    capture = captured.purchase_units[0].payments.captures[0]
    assert capture.status == "COMPLETED" and capture.amount.value == "100.00"
    refund = sdk.payments.refund_captured_payment(
        {
            "capture_id": capture.id,
            "body": RefundRequest(amount=SdkMoney(currency_code="USD", value="10.00")),
            "prefer": "return=representation",
        }
    ).body
    assert refund.status == "COMPLETED" and refund.amount.value == "10.00"
    assert sdk.payments.get_refund({"refund_id": refund.id}).body.id == refund.id
    assert (
        sdk.payments.get_captured_payment({"capture_id": capture.id}).body.status
        == "PARTIALLY_REFUNDED"
    )
    replay = sdk.orders.create_order(
        {
            "body": capture_order_request("100.00"),
            "paypal_request_id": "oracle-order-1",
        }
    )
    assert replay.body.id == order.id


def test_sdk_refused_credentials(
    sandbox_server: str, monkeypatch: pytest.MonkeyPatch, sdk: PaypalServersdkClient
) -> None:
    sdk.orders.create_order({"body": capture_order_request("1.00")})
    wrong = PaypalServersdkClient(
        client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
            o_auth_client_id=CLIENT_ID, o_auth_client_secret="wrong"
        ),
        environment=Environment.SANDBOX,
    )
    with pytest.raises(AuthValidationException, match="OAuthToken"):  # no token, no call
        wrong.orders.get_order({"id": "X"})
    answer = httpx.post(
        f"{sandbox_server}/paypal/v1/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(CLIENT_ID, "wrong"),
    )
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


# --- the published OpenAPI documents ---------------------------------------------------------


class Recorder(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[tuple[httpx.Request, bytes, httpx.Response]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        response = await self.inner.handle_async_request(request)
        await response.aread()
        self.exchanges.append((request, body, response))
        return response


@lru_cache(maxsize=1)
def _operations() -> list[tuple[str, str, Any, str, Registry]]:
    found = []
    for name in SPEC_FILES:
        spec = json.loads((SPECS / name).read_text())
        uri = f"urn:{name}"
        registry = Registry().with_resource(uri, Resource(contents=spec, specification=DRAFT4))
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                if method != "parameters":
                    found.append((method.upper(), path, operation, uri, registry))
    return found


def _match(method: str, path: str) -> tuple[dict[str, Any], str, str, Registry] | None:
    for op_method, template, operation, uri, registry in _operations():
        parts, actual = template.strip("/").split("/"), path.strip("/").split("/")
        if (
            op_method == method
            and len(parts) == len(actual)
            and all(p.startswith("{") or p == a for p, a in zip(parts, actual, strict=True))
        ):
            return operation, template, uri, registry
    return None


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(quote(p.replace("~", "~0").replace("/", "~1"), safe="~") for p in parts)


def _validate(exchanges: list[tuple[httpx.Request, bytes, httpx.Response]]) -> int:
    checked = 0
    for request, body, response in exchanges:
        path = request.url.path.removeprefix("/paypal")
        if path.startswith(("/v1/oauth2", "/_sandbox", "/v1/catalogs", "/v1/notifications/certs")):
            continue
        matched = _match(request.method, path)
        assert matched is not None, f"{request.method} {path} is not in PayPal's documents"
        operation, template, uri, registry = matched
        method = request.method.lower()
        if body and "requestBody" in operation:
            pointer = _pointer(
                "paths", template, method, "requestBody", "content", "application/json", "schema"
            )
            Draft4Validator({"$ref": uri + pointer}, registry=registry).validate(json.loads(body))
            checked += 1
        status = str(response.status_code)
        key = status if status in operation["responses"] else "default"
        answer = operation["responses"].get(key, {})
        if "content" in answer and response.content:
            pointer = _pointer(
                "paths", template, method, "responses", key, "content", "application/json", "schema"
            )
            Draft4Validator({"$ref": uri + pointer}, registry=registry).validate(response.json())
            checked += 1
    return checked


async def test_connector_and_sandbox_follow_paypals_openapi_documents() -> None:
    recorder = Recorder(httpx.ASGITransport(app=create_sandbox_app(open_hooks=True)))
    creds = credentials("paypal", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    paypal = PayPalConnector(creds, base_url="http://sandbox/paypal", transport=recorder)
    approve = httpx.AsyncClient(transport=recorder)
    auto = await paypal.create_payment(
        CreatePayment(
            reference="pay_1",
            amount=Money(2500, "EUR"),
            idempotency_key="a",
            description="Shoes",
            return_url="https://shop.example/back",
            customer=Customer(email="b@example.com"),
        )
    )
    with pytest.raises(ProviderDeclined):
        await paypal.capture(auto.provider_payment_id, amount=None, idempotency_key="early")
    await approve.get(str(auto.next_action_url))
    await paypal.capture(auto.provider_payment_id, amount=None, idempotency_key="c")
    refund = await paypal.refund(
        auto.provider_payment_id, amount=Money(500, "EUR"), idempotency_key="r", reason="late"
    )
    with pytest.raises(ProviderDeclined):
        await paypal.refund(
            auto.provider_payment_id, amount=Money(2001, "EUR"), idempotency_key="r2"
        )
    await paypal.get_refund(refund.provider_refund_id)
    manual = await paypal.create_payment(
        CreatePayment(
            reference="pay_2",
            amount=Money(900, "USD"),
            idempotency_key="m",
            capture=CaptureMode.manual,
        )
    )
    await approve.get(str(manual.next_action_url))
    await paypal.capture(manual.provider_payment_id, amount=Money(400, "USD"), idempotency_key="mc")
    plan = await paypal.create_plan(
        CreatePlan(
            name="Pro", amount=Money(1500, "USD"), interval=PlanInterval.month, idempotency_key="p"
        )
    )
    sub = await paypal.create_subscription(
        CreateSubscription(
            reference="sub_1",
            plan_id=plan,
            idempotency_key="s",
            customer=Customer(email="s@example.com"),
            total_count=6,
            return_url="https://shop.example/sub",
        )
    )
    await approve.get(str(sub.next_action_url))
    await paypal.pause_subscription(sub.provider_subscription_id, idempotency_key="1")
    await paypal.resume_subscription(sub.provider_subscription_id, idempotency_key="2")
    await paypal.cancel_subscription(sub.provider_subscription_id, idempotency_key="3")
    await approve.aclose()
    await paypal.aclose()
    assert _validate(recorder.exchanges) >= 20
