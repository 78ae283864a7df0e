"""One-time codes by e-mail: outbox event with the code encrypted, real SMTP delivery,
five tries, single use, expiry, resend throttle, and no account enumeration."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core import limits
from moneyrail.core.jobs import handlers_for
from moneyrail.core.models import OutboxEvent
from moneyrail.core.outbox import EventEnvelope
from moneyrail.core.settings import get_settings
from moneyrail.identity.models import OtpCode
from tests.conftest import problem
from tests.factories import add_user, make_tenant


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
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


async def _deliver(system_session: AsyncSession, email: str, inbox: Inbox) -> str:
    """Run the registered outbox handler on the newest OTP event and read the mail."""
    rows = (
        await system_session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.type == "identity.otp_email")
            .order_by(OutboxEvent.seq.desc())
        )
    ).all()
    event = next(r for r in rows if r.payload["data"]["to"] == email)
    before = len(inbox.messages)
    [handler] = handlers_for("identity.otp_email")
    await handler(system_session, EventEnvelope.model_validate(event.payload))
    for _ in range(100):
        if len(inbox.messages) > before:
            break
        await asyncio.sleep(0.02)
    mail = inbox.messages[-1]
    assert mail["To"] == email
    match = re.search(r"\b(\d{6})\b", mail.get_payload(decode=True).decode())
    assert match, mail.get_payload()
    code = match.group(1)
    stored = json.dumps(event.payload)
    assert code not in stored and "code_encrypted" in stored
    return code


async def _count_events(system_session: AsyncSession, email: str) -> int:
    rows = (
        await system_session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.type == "identity.otp_email")
        )
    ).all()
    return sum(1 for payload in rows if payload["data"]["to"] == email)


async def _age_codes(system_session: AsyncSession, user_id: str) -> None:
    """Move the user's codes into the past, as if the resend interval had passed."""
    await system_session.execute(
        update(OtpCode)
        .where(OtpCode.user_id == user_id)
        .values(
            created_at=OtpCode.created_at
            - timedelta(seconds=limits.otp_resend_interval_seconds + 1)
        )
    )


async def test_otp_login_end_to_end(
    client: httpx.AsyncClient, session: AsyncSession, system_session: AsyncSession, smtp: Inbox
) -> None:
    tenant = await make_tenant(session)
    user = await add_user(session, tenant)
    known = await client.post("/auth/request-otp", json={"email": user.email.upper()})
    unknown = await client.post("/auth/request-otp", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert await _count_events(system_session, "nobody@example.com") == 0

    code = await _deliver(system_session, user.email, smtp)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(limits.otp_attempts_max):
        problem(
            await client.post("/auth/otp-login", json={"email": user.email, "otp": wrong}),
            401,
            "invalid_otp",
        )
    # The sixth try fails even with the right code.
    problem(
        await client.post("/auth/otp-login", json={"email": user.email, "otp": code}),
        401,
        "invalid_otp",
    )

    # A new code only after the resend interval.
    await client.post("/auth/request-otp", json={"email": user.email})
    assert await _count_events(system_session, user.email) == 1
    await _age_codes(system_session, user.user_id)
    await client.post("/auth/request-otp", json={"email": user.email})
    assert await _count_events(system_session, user.email) == 2
    code = await _deliver(system_session, user.email, smtp)
    ok = await client.post("/auth/otp-login", json={"email": user.email, "otp": code})
    assert ok.status_code == 200, ok.text
    assert ok.json()["refresh_token"] and ok.json()["access_token"]
    # Single use.
    problem(await client.post("/auth/otp-login", json={"email": user.email, "otp": code}), 401)

    # Expired.
    await _age_codes(system_session, user.user_id)
    await client.post("/auth/request-otp", json={"email": user.email})
    code = await _deliver(system_session, user.email, smtp)
    await system_session.execute(
        update(OtpCode)
        .where(OtpCode.user_id == user.user_id, OtpCode.consumed_at.is_(None))
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    problem(await client.post("/auth/otp-login", json={"email": user.email, "otp": code}), 401)
    problem(
        await client.post("/auth/otp-login", json={"email": "nobody@example.com", "otp": code}),
        401,
        "invalid_otp",
    )


async def test_stored_code_is_a_keyed_digest(
    client: httpx.AsyncClient, session: AsyncSession, system_session: AsyncSession, smtp: Inbox
) -> None:
    tenant = await make_tenant(session)
    user = await add_user(session, tenant)
    await client.post("/auth/request-otp", json={"email": user.email})
    code = await _deliver(system_session, user.email, smtp)
    row = await system_session.scalar(select(OtpCode).where(OtpCode.user_id == user.user_id))
    assert row is not None and code not in row.code_hash and len(row.code_hash) == 64
    assert row.expires_at - row.created_at == timedelta(minutes=limits.otp_ttl_minutes)
