"""Concurrent requests on real transactions: refunds never exceed the captured amount."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import make_live_tenant
from tests.payments.helpers import payment_body


async def test_concurrent_refunds_never_exceed_the_capture(
    live_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_live_tenant(engine)
    created = await live_client.post(
        "/payments", json=payment_body("stripe", 10_000), headers=tenant.with_idempotency()
    )
    payment = created.json()
    assert payment["status"] == "captured", created.text

    async def refund() -> httpx.Response:
        return await live_client.post(
            "/refunds",
            json={"payment_id": payment["id"], "amount": {"amount": 4_000, "currency": "USD"}},
            headers=tenant.with_idempotency(),
        )

    answers = await asyncio.gather(*(refund() for _ in range(5)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 201, 422, 422, 422], [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 422} == {
        "refund_exceeds_captured"
    }
    shown = (await live_client.get(f"/payments/{payment['id']}", headers=tenant.headers)).json()
    assert shown["status"] == "partially_refunded"
    assert shown["refunded_amount"]["amount"] == 8_000
