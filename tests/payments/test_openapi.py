"""Our own API keeps to the OpenAPI document it publishes: every request and answer of a
payment's life (and its failures) is validated against `/openapi.json` with openapi-core."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_tenant
from tests.payments.helpers import payment_body


class Recorder(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[tuple[httpx.Request, int, bytes, httpx.Headers]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        self.exchanges.append((request, response.status_code, content, response.headers))
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )


def _mock(
    request: httpx.Request, status: int, content: bytes, headers: httpx.Headers
) -> tuple[Any, Any]:
    content_type = headers.get("content-type", "")
    mock_request = MockRequest(
        "http://testserver",
        request.method.lower(),
        request.url.path,
        args=dict(request.url.params),
        headers=dict(request.headers),
        data=request.content or None,
        content_type=request.headers.get("content-type", "application/json"),
    )
    mock_response = MockResponse(
        content,
        status_code=status,
        content_type=content_type.split(";")[0] or "application/json",
        headers=dict(headers),
    )
    return mock_request, mock_response


async def test_payments_api_matches_its_openapi_document(
    app: FastAPI, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    recorder = Recorder(httpx.ASGITransport(app=app))
    async with httpx.AsyncClient(transport=recorder, base_url="http://testserver") as raw:
        document = (await raw.get("/openapi.json")).json()
        recorder.exchanges.clear()
        api = "/api/v1"
        manual = await raw.post(
            f"{api}/payments",
            json=payment_body("stripe", 3_000, capture="manual"),
            headers=tenant.with_idempotency(),
        )
        payment_id = manual.json()["id"]
        await raw.get(f"{api}/payments/{payment_id}", headers=tenant.headers)
        await raw.get(
            f"{api}/payments", params={"status": "authorized", "limit": 5}, headers=tenant.headers
        )
        await raw.post(
            f"{api}/payments/{payment_id}/capture",
            json={"amount": {"amount": 2_000, "currency": "USD"}},
            headers=tenant.with_idempotency(),
        )
        refund = await raw.post(
            f"{api}/refunds",
            json={"payment_id": payment_id, "amount": {"amount": 500, "currency": "USD"}},
            headers=tenant.with_idempotency(),
        )
        await raw.get(f"{api}/refunds/{refund.json()['id']}", headers=tenant.headers)
        await raw.post(
            f"{api}/refunds",
            json={"payment_id": payment_id, "amount": {"amount": 9_999, "currency": "USD"}},
            headers=tenant.with_idempotency(),
        )
        await raw.post(f"{api}/payments/{payment_id}/verify", headers=tenant.with_idempotency())
        await raw.get(f"{api}/payments/pay_unknown", headers=tenant.headers)
        await raw.put(
            f"{api}/routing/rules",
            json={"rules": [{"currency": "USD", "providers": ["stripe"]}], "default": ["paypal"]},
            headers=tenant.headers,
        )
        await raw.get(f"{api}/routing/rules", headers=tenant.headers)
        await raw.get(f"{api}/services", headers=tenant.headers)
        await raw.put(
            f"{api}/services/stripe/environment",
            json={"environment": "test"},
            headers=tenant.headers,
        )
        sub = await raw.post(
            f"{api}/subscriptions",
            json={
                "provider": "stripe",
                "plan": {
                    "name": "Pro",
                    "amount": {"amount": 900, "currency": "USD"},
                    "interval": "month",
                },
                "payment_method": "pm_card_visa",
            },
            headers=tenant.with_idempotency(),
        )
        await raw.get(f"{api}/subscriptions/{sub.json()['id']}", headers=tenant.headers)
        await raw.post(
            f"{api}/subscriptions/{sub.json()['id']}/pause", headers=tenant.with_idempotency()
        )

    openapi = OpenAPI.from_dict(
        document,
        config=Config(extra_media_type_deserializers={"application/problem+json": json.loads}),
    )
    statuses = []
    for request, status, content, headers in recorder.exchanges:
        mock_request, mock_response = _mock(request, status, content, headers)
        openapi.validate_request(mock_request)
        openapi.validate_response(mock_request, mock_response)
        statuses.append(status)
    assert statuses.count(201) == 3 and 404 in statuses and 422 in statuses, statuses
    webhook = document["paths"]["/api/v1/webhooks/providers/{provider}"]["post"]
    provider = next(p for p in webhook["parameters"] if p["name"] == "provider")
    assert provider["schema"]["enum"] == [
        "stripe",
        "paypal",
        "razorpay",
        "paystack",
        "flutterwave",
        "chapa",
    ]
