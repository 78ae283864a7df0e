"""Outbox handlers of identity: the one-time-code e-mail."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.connectors.smtp import SmtpConfig, send_email
from moneyrail.core.crypto import key_ring
from moneyrail.core.jobs import handles
from moneyrail.core.outbox import EventEnvelope
from moneyrail.core.settings import get_settings
from moneyrail.identity.sessions.otp import OTP_EMAIL_EVENT, otp_aad

log = structlog.get_logger(__name__)

OTP_SUBJECT = "Your moneyrail sign-in code"


def otp_email_text(code: str, minutes: int) -> str:
    return (
        f"Your sign-in code is {code}\n\n"
        f"It expires in {minutes} minutes and works once. If you did not ask for it, "
        "ignore this message; nobody can sign in without the code.\n"
    )


@handles(OTP_EMAIL_EVENT)
async def send_otp_email(session: AsyncSession, event: EventEnvelope) -> None:
    """Decrypt the code carried by the event and e-mail it over SMTP."""
    from moneyrail.core import limits

    data = event.data
    config = SmtpConfig.from_settings(get_settings())
    if config is None:
        log.warning("identity.otp_email_not_sent", reason="smtp_not_configured", event_id=event.id)
        return
    code = key_ring().decrypt_text(
        data["code_encrypted"],
        aad=otp_aad(tenant_id=event.tenant_id, otp_id=data["otp_id"], email=data["to"]),
    )
    message_id = await send_email(
        config,
        to=data["to"],
        subject=OTP_SUBJECT,
        text=otp_email_text(code, limits.otp_ttl_minutes),
    )
    log.info("identity.otp_email_sent", event_id=event.id, message_id=message_id)
