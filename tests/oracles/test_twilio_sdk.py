"""The official `twilio` SDK as the oracle for our Twilio sandbox and callback verifier."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from moneyrail.connectors.twilio import compute_signature
from moneyrail.core.db import bypass_tenant_scope
from moneyrail.core.settings import Settings
from tests.factories import make_live_tenant
from tests.messaging.server import LiveServer, live_server_context


@pytest_asyncio.fixture
async def server(settings: Settings, engine: AsyncEngine) -> AsyncIterator[LiveServer]:
    async with live_server_context(settings, engine) as live:
        yield live


def _sdk_client(server: LiveServer) -> Client:
    client = Client(server.settings.twilio_test_account_sid, server.settings.twilio_test_auth_token)
    # The SDK has no base-URL argument; its API domain's base_url is the documented hook.
    client.api.base_url = f"{server.url}/sandbox/twilio"
    return client


async def _callbacks(server: LiveServer, sid: str, headers: dict[str, str]) -> list[dict]:
    # The API's port serves the sandboxes' test hooks only to a tenant's test-mode key.
    async with httpx.AsyncClient() as http:
        listed = await http.get(f"{server.url}/sandbox/twilio/_sandbox/callbacks", headers=headers)
    return [c for c in listed.json()["callbacks"] if c["params"]["MessageSid"] == sid]


async def _wait_for(predicate, limit_seconds: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + limit_seconds
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_sdk_sends_through_sandbox_and_moneyrail_sees_the_callbacks(
    server: LiveServer, engine: AsyncEngine
) -> None:
    callback_url = f"{server.api}/webhooks/providers/twilio"
    hook_headers = (await make_live_tenant(engine)).headers
    sdk = _sdk_client(server)
    # The SDK is synchronous (requests); the server runs on this event loop.
    message = await asyncio.to_thread(
        sdk.messages.create,
        to="+14155550100",
        from_="+15005550006",
        body="hello from the SDK",
        status_callback=callback_url,
    )
    assert message.sid.startswith("SM") and message.status == "queued"
    fetched = await asyncio.to_thread(sdk.messages(message.sid).fetch)
    assert fetched.body == "hello from the SDK" and fetched.to == "+14155550100"

    async def both_sent() -> bool:
        done = [
            c for c in await _callbacks(server, message.sid, hook_headers) if c["delivered_status"]
        ]
        return len(done) == 2

    await _wait_for(both_sent)
    validator = RequestValidator(server.settings.twilio_test_auth_token)
    callbacks = await _callbacks(server, message.sid, hook_headers)
    assert [c["params"]["MessageStatus"] for c in callbacks] == ["sent", "delivered"]
    for callback in callbacks:
        assert validator.validate(callback["url"], callback["params"], callback["signature"])
        assert callback["delivered_status"] == 204

    # moneyrail recorded both verified status events for the SDK's message.
    async with AsyncSession(engine) as session, session.begin():
        await bypass_tenant_scope(session)
        statuses = (
            await session.scalars(
                text(
                    "SELECT status FROM messaging_provider_events "
                    "WHERE provider = 'twilio' AND provider_message_id = :sid ORDER BY received_at"
                ),
                {"sid": message.sid},
            )
        ).all()
    assert statuses == ["sent", "delivered"]


async def test_our_verifier_rejects_a_tampered_callback(server: LiveServer) -> None:
    token = server.settings.twilio_test_auth_token
    url = f"{server.api}/webhooks/providers/twilio"
    params = {
        "AccountSid": server.settings.twilio_test_account_sid,
        "MessageSid": "SM" + "a" * 32,
        "MessageStatus": "delivered",
        "To": "+14155550100",
    }
    signature = compute_signature(token, url, params)
    assert RequestValidator(token).validate(url, params, signature)
    headers = {
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    async with httpx.AsyncClient() as http:
        good = await http.post(url, content=urlencode(params), headers=headers)
        assert good.status_code == 204, good.text
        tampered = await http.post(
            url, content=urlencode({**params, "MessageStatus": "failed"}), headers=headers
        )
        assert tampered.status_code == 401
        assert tampered.json()["code"] == "invalid_webhook_signature"
        unsigned = await http.post(url, content=urlencode(params))
        assert unsigned.status_code == 401
