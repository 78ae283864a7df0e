"""No password, client secret, API key, OTP or token appears in clear in the database (a
`pg_dump` of it) or in the logs, for every value this test creates."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import httpx
import pytest
import structlog
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from moneyrail.core.jobs import handlers_for
from moneyrail.core.logging import configure_logging
from moneyrail.core.models import OutboxEvent
from moneyrail.core.outbox import EventEnvelope
from moneyrail.core.settings import get_settings
from tests.conftest import pg_dump


def _dump(database_url: str) -> str:
    return pg_dump(database_url)


class Inbox:
    def __init__(self) -> None:
        self.bodies: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        self.bodies.append(message.get_payload(decode=True).decode())
        return "250 OK"


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Every structlog event and stdlib record at INFO and above, for the duration of a test."""
    buffer = io.StringIO()
    saved = structlog.get_config()
    configure_logging(level="DEBUG", json=True)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=buffer))
    handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        structlog.configure(**saved)


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    get_settings.cache_clear()
    try:
        yield inbox
    finally:
        controller.stop()
        monkeypatch.undo()
        get_settings.cache_clear()


async def test_no_secret_in_clear(
    database_url: str,
    engine: AsyncEngine,
    live_client: httpx.AsyncClient,
    captured_logs: io.StringIO,
    smtp: Inbox,
) -> None:
    secrets_made: dict[str, str] = {}
    email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    password = f"pw-{uuid.uuid4().hex}"
    secrets_made["password"] = password
    signup = await live_client.post(
        "/auth/signup",
        json={"email": email, "password": password, "organization_name": "Secret Keepers"},
    )
    assert signup.status_code == 201, signup.text
    secrets_made["access token"] = signup.json()["access_token"]
    secrets_made["refresh token"] = signup.json()["refresh_token"]
    headers = {"Authorization": f"Bearer {signup.json()['access_token']}"}

    key = await live_client.post("/api-keys", json={"name": "k", "role": "admin"}, headers=headers)
    assert key.status_code == 201, key.text
    secrets_made["API key"] = key.json()["key"]
    created = await live_client.post(
        "/admin/clients", json={"name": "c", "role": "operator"}, headers=headers
    )
    assert created.status_code == 201, created.text
    client_id, secrets_made["client secret"] = (
        created.json()["client_id"],
        created.json()["client_secret"],
    )
    client_key = await live_client.post(
        f"/admin/clients/{client_id}/api-keys", json={"name": "ck"}, headers=headers
    )
    secrets_made["client API key"] = client_key.json()["key"]
    client_token = await live_client.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secrets_made["client secret"]),
    )
    secrets_made["client access token"] = client_token.json()["access_token"]

    rotated = await live_client.post(
        "/auth/refresh", json={"refresh_token": secrets_made["refresh token"]}
    )
    secrets_made["rotated refresh token"] = rotated.json()["refresh_token"]
    new_password = f"pw-{uuid.uuid4().hex}"
    changed = await live_client.post(
        "/auth/change-password",
        json={"current_password": password, "new_password": new_password},
        headers={"Authorization": f"Bearer {rotated.json()['access_token']}"},
    )
    assert changed.status_code == 204, changed.text
    secrets_made["new password"] = new_password
    wrong = await live_client.post(
        "/auth/token",
        data={"grant_type": "password", "username": email, "password": "wrong-" + new_password},
    )
    assert wrong.status_code == 400
    secrets_made["wrong password"] = "wrong-" + new_password
    user = await live_client.post(
        "/admin/users",
        json={
            "email": f"staff-{uuid.uuid4().hex[:6]}@example.com",
            "password": "staff-" + new_password,
        },
        headers={"X-API-Key": secrets_made["API key"]},
    )
    assert user.status_code == 201, user.text
    secrets_made["staff password"] = "staff-" + new_password

    assert (await live_client.post("/auth/request-otp", json={"email": email})).status_code == 202
    async with AsyncSession(engine) as session, session.begin():
        from moneyrail.core.db import bypass_tenant_scope

        await bypass_tenant_scope(session)
        rows = (
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "identity.otp_email")
            )
        ).all()
        event = next(r for r in rows if r.payload["data"]["to"] == email)
        [handler] = handlers_for("identity.otp_email")
        await handler(session, EventEnvelope.model_validate(event.payload))
    for _ in range(100):
        if smtp.bodies:
            break
        await asyncio.sleep(0.02)
    otp = re.search(r"\b(\d{6})\b", smtp.bodies[-1])
    assert otp is not None
    secrets_made["OTP"] = otp.group(1)
    login = await live_client.post("/auth/otp-login", json={"email": email, "otp": otp.group(1)})
    assert login.status_code == 200, login.text
    secrets_made["OTP access token"] = login.json()["access_token"]
    secrets_made["OTP refresh token"] = login.json()["refresh_token"]

    dump = await asyncio.to_thread(_dump, database_url)
    assert email in dump and client_id in dump  # the dump does hold this test's rows
    logs = captured_logs.getvalue()
    assert "http.request" in logs and "identity.login_failed" in logs  # logs were captured
    code = secrets_made.pop("OTP")
    for name, value in secrets_made.items():
        assert value not in dump, f"{name} found in clear in the database"
        assert value not in logs, f"{name} found in the logs"
    # Six digits occur by chance inside hashes, ids and timestamps; a leaked code would stand
    # alone as a value.
    standalone = re.compile(rf"(?<![0-9A-Za-z.]){code}(?![0-9A-Za-z])")
    assert not standalone.search(dump), "OTP found in clear in the database"
    assert not standalone.search(logs), "OTP found in the logs"
