"""Outgoing e-mail over SMTP (aiosmtplib)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from moneyrail.core import limits
from moneyrail.core.settings import Settings


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None
    password: str | None
    sender: str
    starttls: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig | None:
        if not settings.smtp_host:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            sender=settings.smtp_from,
            starttls=settings.smtp_starttls,
        )


def build_message(
    *, sender: str, to: str, subject: str, text: str | None, html: str | None
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip(">") or None)
    message.set_content(text or "")
    if html:
        message.add_alternative(html, subtype="html")
    return message


async def send_email(
    config: SmtpConfig, *, to: str, subject: str, text: str | None, html: str | None = None
) -> str:
    """Send one message; returns its Message-ID."""
    message = build_message(sender=config.sender, to=to, subject=subject, text=text, html=html)
    await aiosmtplib.send(
        message,
        hostname=config.host,
        port=config.port,
        username=config.username,
        password=config.password,
        start_tls=config.starttls,
        timeout=limits.provider_timeout_seconds,
    )
    return str(message["Message-ID"])
