"""SMS through the Twilio sandbox and e-mail through the Resend sandbox and real SMTP, all
sent by the worker from the outbox, with status callbacks verified on the way back."""

from __future__ import annotations

import asyncio
from email import message_from_bytes
from email.message import Message as EmailMessage

import httpx
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncEngine

from moneyrail.core.db import Database
from moneyrail.core.settings import Settings
from moneyrail.worker.runner import Worker
from tests.factories import make_live_tenant
from tests.messaging.server import LiveServer
from tests.webhooks.conftest import fast_settings
from tests.webhooks.receiver import free_port


async def _status(http: httpx.AsyncClient, path: str, headers: dict[str, str]) -> dict:
    return (await http.get(path, headers=headers)).json()


async def test_sms_sent_by_worker_and_delivered_by_twilio_callbacks(
    live_server: LiveServer,
    engine: AsyncEngine,
) -> None:
    tenant = await make_live_tenant(engine)
    async with httpx.AsyncClient(base_url=live_server.api) as http:
        queued = await http.post(
            "/sms", json={"to": "+919812345678", "body": "hello"}, headers=tenant.headers
        )
        assert queued.status_code == 202, queued.text
        message_id = queued.json()["id"]

        async def delivered() -> bool:
            return (await _status(http, f"/sms/{message_id}", tenant.headers))[
                "status"
            ] == "delivered"

        await live_server.worker.drain(timeout_seconds=20, until=delivered)
        final = await _status(http, f"/sms/{message_id}", tenant.headers)
        assert final["provider"] == "twilio" and final["provider_message_id"].startswith("SM")
        assert final["sent_at"] and final["delivered_at"]

        undelivered = await http.post(
            "/sms", json={"to": "+15005550002", "body": "x"}, headers=tenant.headers
        )
        bad_id = undelivered.json()["id"]

        async def failed() -> bool:
            return (await _status(http, f"/sms/{bad_id}", tenant.headers))["status"] == "failed"

        await live_server.worker.drain(timeout_seconds=20, until=failed)

        invalid = await http.post(
            "/sms", json={"to": "+15005550001", "body": "x"}, headers=tenant.headers
        )
        invalid_id = invalid.json()["id"]

        async def rejected() -> bool:
            return (await _status(http, f"/sms/{invalid_id}", tenant.headers))["status"] == "failed"

        await live_server.worker.drain(timeout_seconds=20, until=rejected)
        assert (
            "21211" in (await _status(http, f"/sms/{invalid_id}", tenant.headers))["error_message"]
        )


async def test_email_through_resend_sandbox_with_svix_signed_events(
    live_server: LiveServer,
    engine: AsyncEngine,
) -> None:
    tenant = await make_live_tenant(engine)
    async with httpx.AsyncClient(base_url=live_server.api) as http:
        hook = await http.post(
            f"{live_server.url}/sandbox/resend/_sandbox/webhooks",
            json={
                "url": f"{live_server.api}/webhooks/providers/resend",
                "secret": live_server.settings.resend_test_webhook_secret,
            },
            headers=tenant.headers,
        )
        assert hook.status_code == 200
        queued = await http.post(
            "/email",
            json={
                "to": "user@example.com",
                "subject": "Hi",
                "text": "hello",
                "html": "<p>hello</p>",
            },
            headers=tenant.headers,
        )
        assert queued.status_code == 202, queued.text
        message_id = queued.json()["id"]

        async def delivered() -> bool:
            return (await _status(http, f"/email/{message_id}", tenant.headers))[
                "status"
            ] == "delivered"

        await live_server.worker.drain(timeout_seconds=20, until=delivered)
        listed = await http.get(
            f"{live_server.url}/sandbox/resend/_sandbox/events", headers=tenant.headers
        )
        events = listed.json()["events"]
        assert {e["delivered_status"] for e in events} == {204}

        tampered = events[-1]
        forged = await http.post(
            "/webhooks/providers/resend",
            content=tampered["body"].replace("delivered", "bounced"),
            headers=tampered["headers"],
        )
        assert forged.status_code == 401


class _Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


async def test_smtp_email_reaches_a_real_smtp_server(
    settings: Settings, engine: AsyncEngine, live_client: httpx.AsyncClient
) -> None:
    collector = _Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        worker_settings = fast_settings(
            settings,
            email_provider="smtp",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_from="moneyrail <no-reply@moneyrail.test>",
        )
        worker = Worker(worker_settings, db=Database(engine), worker_id="smtp-test")
        tenant = await make_live_tenant(engine)
        queued = await live_client.post(
            "/email",
            json={
                "to": "asha@example.com",
                "subject": "Statement ready",
                "text": "See attached",
                "html": "<p>See attached</p>",
            },
            headers=tenant.headers,
        )
        message_id = queued.json()["id"]

        async def sent() -> bool:
            body = (await live_client.get(f"/email/{message_id}", headers=tenant.headers)).json()
            return body["status"] == "sent"

        try:
            await worker.drain(timeout_seconds=20, until=sent)
        finally:
            await worker.aclose()
        await asyncio.sleep(0)
        [mail] = [m for m in collector.messages if m["To"] == "asha@example.com"]
        assert mail["From"] == "moneyrail <no-reply@moneyrail.test>"
        assert mail["Subject"] == "Statement ready"
        assert mail["Message-ID"].endswith("@moneyrail.test>")
        assert mail.is_multipart()
        parts = {
            p.get_content_type(): p.get_payload(decode=True).decode()
            for p in mail.walk()
            if not p.is_multipart()
        }
        assert parts["text/plain"].strip() == "See attached"
        assert "<p>See attached</p>" in parts["text/html"]
        fetched = (await live_client.get(f"/email/{message_id}", headers=tenant.headers)).json()
        assert (
            fetched["provider"] == "smtp" and fetched["provider_message_id"] == mail["Message-ID"]
        )
        assert ("no-reply@moneyrail.test", ["asha@example.com"]) in collector.envelopes
    finally:
        controller.stop()
