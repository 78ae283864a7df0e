"""Which provider sends a message and with which credentials.

Test mode always uses the sandboxes (Twilio's and Resend's wire formats, no real provider);
live mode uses the platform credentials from settings. SMTP serves e-mail when chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

from moneyrail.connectors import smtp
from moneyrail.connectors.resend import ResendClient
from moneyrail.connectors.twilio import TwilioClient
from moneyrail.core.errors import Unprocessable
from moneyrail.core.settings import Settings


class ProviderNotConfigured(Unprocessable):
    code = "messaging_provider_not_configured"
    title = "No messaging provider is configured"


@dataclass(frozen=True)
class SmsRoute:
    account_sid: str
    auth_token: str
    sender: str
    base_url: str

    def client(self) -> TwilioClient:
        return TwilioClient(
            account_sid=self.account_sid, auth_token=self.auth_token, base_url=self.base_url
        )


@dataclass(frozen=True)
class EmailRoute:
    provider: str  # "resend" | "smtp"
    sender: str
    api_key: str | None = None
    base_url: str | None = None
    smtp_config: smtp.SmtpConfig | None = None

    def resend(self) -> ResendClient:
        assert self.api_key is not None and self.base_url is not None
        return ResendClient(api_key=self.api_key, base_url=self.base_url)


def sandbox_url(settings: Settings, provider: str) -> str:
    base = settings.messaging_sandbox_url or f"{settings.public_base_url.rstrip('/')}/sandbox"
    return f"{base.rstrip('/')}/{provider}"


def sms_route(settings: Settings, environment: str) -> SmsRoute:
    """Raises ProviderNotConfigured when live mode has no Twilio credentials."""
    if environment == "test":
        return SmsRoute(
            account_sid=settings.twilio_test_account_sid,
            auth_token=settings.twilio_test_auth_token,
            sender=settings.twilio_test_from,
            base_url=sandbox_url(settings, "twilio"),
        )
    if not (settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from):
        raise ProviderNotConfigured("set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM")
    return SmsRoute(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        sender=settings.twilio_from,
        base_url=settings.twilio_api_url,
    )


def email_route(settings: Settings, environment: str) -> EmailRoute:
    """Raises ProviderNotConfigured when live mode has neither Resend nor SMTP."""
    smtp_config = smtp.SmtpConfig.from_settings(settings)
    choice = settings.email_provider.lower()
    if choice == "smtp" or (
        environment == "live" and choice == "auto" and not settings.resend_api_key
    ):
        if smtp_config is None:
            raise ProviderNotConfigured("set SMTP_HOST (or RESEND_API_KEY) to send e-mail")
        return EmailRoute(provider="smtp", sender=smtp_config.sender, smtp_config=smtp_config)
    if environment == "test":
        return EmailRoute(
            provider="resend",
            sender=settings.resend_from,
            api_key=settings.resend_test_api_key,
            base_url=sandbox_url(settings, "resend"),
        )
    if not settings.resend_api_key:
        raise ProviderNotConfigured("set RESEND_API_KEY to send e-mail through Resend")
    return EmailRoute(
        provider="resend",
        sender=settings.resend_from,
        api_key=settings.resend_api_key,
        base_url=settings.resend_api_url,
    )


def twilio_token_for(settings: Settings, account_sid: str | None) -> str | None:
    """The auth token that signs callbacks for this account, if it is one of ours."""
    if account_sid and account_sid == settings.twilio_account_sid:
        return settings.twilio_auth_token
    if account_sid and account_sid == settings.twilio_test_account_sid:
        return settings.twilio_test_auth_token
    return None


def resend_webhook_secrets(settings: Settings) -> list[str]:
    return [s for s in (settings.resend_webhook_secret, settings.resend_test_webhook_secret) if s]
