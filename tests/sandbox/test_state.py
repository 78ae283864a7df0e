"""The shared sandbox machinery: faults, hooks, ids, and links that know where they are mounted."""

from __future__ import annotations

import json

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from moneyrail.sandbox.app import create_sandbox_app
from moneyrail.sandbox.paypal.webhooks import raw_member
from moneyrail.sandbox.state import SandboxState, new_id
from moneyrail.sandbox.stripe import parse_params
from tests.sandbox.helpers import faults, hook

STRIPE = {"Authorization": "Bearer sk_test_state"}


async def test_fault_bounds_are_checked_and_hooks_are_never_faulted() -> None:
    transport = httpx.ASGITransport(app=create_sandbox_app(open_hooks=True))
    assert (
        await hook(transport, "stripe", "/_sandbox/faults", {"unavailable": 10_000})
    ).status_code == 400
    assert (
        await hook(transport, "stripe", "/_sandbox/faults", {"delay_seconds": -1})
    ).status_code == 400
    await faults(transport, "stripe", unavailable=2)
    # Hooks stay reachable during an outage, and the outage is per provider.
    assert (
        await hook(transport, "stripe", "/_sandbox/faults", {"unavailable": 2})
    ).status_code == 200
    razorpay = await hook(
        transport,
        "razorpay",
        "/v1/orders",
        {"amount": 100, "currency": "INR"},
        headers={"Authorization": "Basic cnpwX3Rlc3RfeDpz"},
    )
    assert razorpay.status_code == 200
    first = await hook(
        transport, "stripe", "/v1/payment_intents/pi_x", method="GET", headers=STRIPE
    )
    assert first.status_code == 503 and first.json()["error"]["type"] == "api_error"
    await hook(transport, "stripe", "/_sandbox/reset")
    assert (
        await hook(transport, "stripe", "/v1/payment_intents/pi_x", method="GET", headers=STRIPE)
    ).status_code == 404


async def test_slow_after_acts_then_answers_late() -> None:
    transport = httpx.ASGITransport(app=create_sandbox_app(open_hooks=True))
    await faults(transport, "stripe", slow=1, delay_seconds=0.05, after=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox/stripe") as client:
        created = await client.post(
            "/v1/payment_intents", data={"amount": "100", "currency": "usd"}, headers=STRIPE
        )
        assert created.status_code == 200
        assert (
            await client.get(f"/v1/payment_intents/{created.json()['id']}", headers=STRIPE)
        ).status_code == 200


async def test_links_carry_the_mount_point() -> None:
    outer = Starlette(routes=[Mount("/sandbox", app=create_sandbox_app(open_hooks=True))])
    transport = httpx.ASGITransport(app=outer)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://api.local/sandbox/paypal"
    ) as client:
        token = (
            await client.post(
                "/v1/oauth2/token", data={"grant_type": "client_credentials"}, auth=("id", "secret")
            )
        ).json()["access_token"]
        order = (
            await client.post(
                "/v2/checkout/orders",
                json={
                    "intent": "CAPTURE",
                    "purchase_units": [{"amount": {"currency_code": "USD", "value": "1.00"}}],
                },
                headers={"Authorization": f"Bearer {token}"},
            )
        ).json()
    approve = next(link["href"] for link in order["links"] if link["rel"] == "approve")
    assert approve.startswith("http://api.local/sandbox/paypal/_sandbox/checkoutnow?token=")


def test_helpers() -> None:
    assert len(new_id("pi_", 24)) == 27
    state = SandboxState()
    state.put("a", {"x": 1}, owner="acct_1")
    assert state.get("a", owner="acct_2") is None and state.get("a", owner="acct_1") == {"x": 1}
    assert parse_params("a[b][0][c]=1&a[b][1][c]=2&e[]=x") == {
        "a": {"b": [{"c": "1"}, {"c": "2"}]},
        "e": ["x"],
    }
    raw = b'{"auth_algo": "SHA256withRSA", "webhook_event":  {"id": "WH-1", "n": [1, {"k": "}"}]} }'
    assert raw_member(raw, "webhook_event") == b'{"id": "WH-1", "n": [1, {"k": "}"}]}'
    assert json.loads(raw_member(raw, "auth_algo")) == "SHA256withRSA"
