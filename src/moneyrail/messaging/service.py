"""SMS and e-mail: accept a message (row + outbox event, nothing sent inline), send it from
the worker, and follow the provider's status reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.service import audit
from moneyrail.auth.subject import AuthSubject
from moneyrail.connectors import smtp
from moneyrail.connectors.base import ProviderDeclined, ProviderError
from moneyrail.core import limits
from moneyrail.core.db import bypass_tenant_scope
from moneyrail.core.errors import Conflict, NotFound, Unprocessable
from moneyrail.core.ids import new_id
from moneyrail.core.outbox import emit
from moneyrail.core.pagination import PageParams
from moneyrail.core.settings import Settings
from moneyrail.messaging import providers
from moneyrail.messaging.models import Message, MessageTemplate
from moneyrail.messaging.repository import repository
from moneyrail.messaging.templates import render, variables_of

log = structlog.get_logger(__name__)

SEND_EVENT = "messaging.send"

# How far along a message is; a status report never moves it back.
STATUS_RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "failed": 4}


class MessageNotFound(NotFound):
    code = "message_not_found"
    title = "Message not found"


class TemplateNotFound(NotFound):
    code = "template_not_found"
    title = "Template not found"


class TemplateChannelMismatch(Unprocessable):
    code = "template_channel_mismatch"
    title = "The template is for another channel"


class TemplateExists(Conflict):
    code = "template_exists"
    title = "A template with this name exists"


def _advance(message: Message, status: str, *, at: datetime) -> bool:
    if STATUS_RANK.get(status, -1) <= STATUS_RANK.get(message.status, 0):
        return False
    if message.status == "failed":
        return False
    message.status = status
    message.updated_at = at
    if status in ("sent", "delivered") and message.sent_at is None:
        message.sent_at = at
    if status == "delivered":
        message.delivered_at = at
    return True


class MessagingService:
    # --- accepting --------------------------------------------------------------------------

    async def queue_sms(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        environment: str,
        to: str,
        body: str | None = None,
        template: str | None = None,
        variables: Mapping[str, object] | None = None,
    ) -> Message:
        """Raises: TemplateNotFound, TemplateChannelMismatch, TemplateVariableMissing."""
        template_id = None
        if template is not None:
            tpl = await self._template_for(session, tenant_id, template, "sms")
            template_id = tpl.id
            body = render(tpl.text, variables or {})
        if not body or len(body) > limits.message_body_chars_max:
            raise Unprocessable(f"an SMS body has 1 to {limits.message_body_chars_max} characters")
        return await self._queue(
            session,
            tenant_id=tenant_id,
            channel="sms",
            environment=environment,
            to=to,
            text=body,
            template_id=template_id,
        )

    async def queue_email(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        environment: str,
        to: str,
        subject: str | None = None,
        text: str | None = None,
        html: str | None = None,
        template: str | None = None,
        variables: Mapping[str, object] | None = None,
    ) -> Message:
        """Raises: TemplateNotFound, TemplateChannelMismatch, TemplateVariableMissing."""
        template_id = None
        if template is not None:
            tpl = await self._template_for(session, tenant_id, template, "email")
            template_id = tpl.id
            values = variables or {}
            subject = render(tpl.subject, values) if subject is None else subject
            text = render(tpl.text, values)
            html = render(tpl.html, values, escape=True)
        return await self._queue(
            session,
            tenant_id=tenant_id,
            channel="email",
            environment=environment,
            to=to,
            subject=subject,
            text=text,
            html=html,
            template_id=template_id,
        )

    async def get_message(
        self, session: AsyncSession, *, tenant_id: str, message_id: str, channel: str
    ) -> Message:
        """Raises: MessageNotFound (also for another channel's message)."""
        message = await repository.message(session, tenant_id=tenant_id, message_id=message_id)
        if message is None or message.channel != channel:
            raise MessageNotFound(f"no {channel} message {message_id}")
        return message

    # --- templates --------------------------------------------------------------------------

    async def create_template(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        name: str,
        channel: str,
        subject: str | None,
        text: str | None,
        html: str | None,
        actor: AuthSubject | None = None,
    ) -> MessageTemplate:
        """Raises: TemplateInvalid, TemplateExists."""
        names = variables_of(subject, text, html)
        if await repository.template(session, tenant_id=tenant_id, id_or_name=name) is not None:
            raise TemplateExists(f"a template named {name!r} exists")
        row = MessageTemplate(
            tenant_id=tenant_id,
            id=new_id("tpl"),
            name=name,
            channel=channel,
            subject=subject,
            text=text,
            html=html,
            variables=names,
            created_at=datetime.now(UTC),
        )
        await repository.add(session, row)
        await audit.record(
            session,
            subject=actor,
            tenant_id=tenant_id,
            action="messaging.template.created",
            target_type="message_template",
            target_id=row.id,
            after={"name": name, "channel": channel, "variables": names},
        )
        return row

    async def list_templates(
        self, session: AsyncSession, *, tenant_id: str, page: PageParams
    ) -> Sequence[MessageTemplate]:
        return await repository.templates(session, tenant_id=tenant_id, page=page)

    # --- sending (the worker) -----------------------------------------------------------------

    async def deliver(
        self, session: AsyncSession, *, settings: Settings, message_id: str, event_id: str
    ) -> None:
        """Send one queued message through its provider; transient failures raise so the
        outbox retries, permanent ones (and the last attempt) mark it failed."""
        await bypass_tenant_scope(session)
        message = await repository.message_any_tenant(session, message_id)
        if message is None or message.status != "queued":
            return  # already sent (a retried event) or gone
        now = datetime.now(UTC)
        message.attempts += 1
        try:
            provider, provider_id = await self._send(settings, message)
        except (ProviderDeclined, providers.ProviderNotConfigured) as exc:
            await self._fail(session, message, code=exc.code, detail=exc.detail, at=now)
            return
        except (ProviderError, OSError) as exc:
            attempts = await repository.outbox_attempts(session, event_id)
            allowed = min(
                1 + len(settings.outbox_retry_schedule_seconds), limits.outbox_attempts_max
            )
            if attempts >= allowed:
                await self._fail(session, message, code="provider_error", detail=str(exc), at=now)
                return
            raise
        message.provider = provider
        message.provider_message_id = provider_id
        _advance(message, "sent" if provider == "smtp" else "sending", at=now)
        # A status report may have arrived before this commit: apply what is stored.
        for event in await repository.events_for(
            session, provider=provider, provider_message_id=provider_id
        ):
            if event.status:
                await self._apply_status(session, message, event.status)
        await emit(
            session,
            tenant_id=message.tenant_id,
            type="message.sent",
            data=self._event_data(message),
        )
        log.info("messaging.sent", message_id=message.id, provider=provider)

    async def _send(self, settings: Settings, message: Message) -> tuple[str, str]:
        if message.channel == "sms":
            route = providers.sms_route(settings, message.environment)
            client = route.client()
            try:
                sent = await client.send_sms(
                    to=message.to,
                    from_=message.sender or route.sender,
                    body=message.text or "",
                    status_callback=self._callback_url(settings, message),
                )
            finally:
                await client.aclose()
            return "twilio", sent.sid
        email = providers.email_route(settings, message.environment)
        if email.provider == "smtp":
            assert email.smtp_config is not None
            provider_id = await smtp.send_email(
                email.smtp_config,
                to=message.to,
                subject=message.subject or "",
                text=message.text,
                html=message.html,
            )
            return "smtp", provider_id
        resend = email.resend()
        try:
            sent_email = await resend.send_email(
                sender=message.sender or email.sender,
                to=message.to,
                subject=message.subject or "",
                text=message.text,
                html=message.html,
                idempotency_key=message.id,
            )
        finally:
            await resend.aclose()
        return "resend", sent_email.id

    # --- provider status reports ----------------------------------------------------------------

    async def record_status(
        self,
        session: AsyncSession,
        *,
        provider: str,
        event_id: str,
        provider_message_id: str | None,
        message_id: str | None,
        status: str | None,
        payload: dict[str, Any],
    ) -> Message | None:
        """Store a verified provider event once and move its message on (never back)."""
        await bypass_tenant_scope(session)
        message = None
        if message_id:
            message = await repository.message_any_tenant(session, message_id)
        if message is None and provider_message_id:
            message = await repository.message_by_provider_id(
                session, provider=provider, provider_message_id=provider_message_id
            )
        fresh = await repository.record_event(
            session,
            {
                "provider": provider,
                "event_id": event_id[:200],
                "tenant_id": message.tenant_id if message else None,
                "message_id": message.id if message else None,
                "provider_message_id": provider_message_id,
                "status": status,
                "payload": payload,
            },
        )
        if fresh and message is not None and status:
            if message.provider_message_id is None and provider_message_id:
                message.provider = provider
                message.provider_message_id = provider_message_id
            await self._apply_status(session, message, status)
        log.info("messaging.provider_event", provider=provider, duplicate=not fresh)
        return message

    async def _apply_status(self, session: AsyncSession, message: Message, status: str) -> None:
        now = datetime.now(UTC)
        if status == "failed":
            if message.status not in ("failed", "delivered"):
                await self._fail(session, message, code="undelivered", detail=None, at=now)
            return
        if _advance(message, status, at=now) and status == "delivered":
            await emit(
                session,
                tenant_id=message.tenant_id,
                type="message.delivered",
                data=self._event_data(message),
            )

    # --- helpers ------------------------------------------------------------------------------

    async def _queue(self, session: AsyncSession, **values: Any) -> Message:
        now = datetime.now(UTC)
        message = Message(
            id=new_id("msg"), status="queued", created_at=now, updated_at=now, **values
        )
        await repository.add(session, message)
        await emit(
            session, tenant_id=message.tenant_id, type=SEND_EVENT, data={"message_id": message.id}
        )
        await emit(
            session,
            tenant_id=message.tenant_id,
            type="message.queued",
            data=self._event_data(message),
        )
        return message

    async def _template_for(
        self, session: AsyncSession, tenant_id: str, id_or_name: str, channel: str
    ) -> MessageTemplate:
        tpl = await repository.template(session, tenant_id=tenant_id, id_or_name=id_or_name)
        if tpl is None:
            raise TemplateNotFound(f"no template {id_or_name!r}")
        if tpl.channel != channel:
            raise TemplateChannelMismatch(f"template {id_or_name!r} is for {tpl.channel}")
        return tpl

    async def _fail(
        self,
        session: AsyncSession,
        message: Message,
        *,
        code: str,
        detail: str | None,
        at: datetime,
    ) -> None:
        message.status = "failed"
        message.error_code = code[:64]
        message.error_message = (detail or "")[: limits.webhook_attempt_error_chars_max] or None
        message.updated_at = at
        await emit(
            session,
            tenant_id=message.tenant_id,
            type="message.failed",
            data=self._event_data(message),
        )
        log.info("messaging.failed", message_id=message.id, code=code)

    def _callback_url(self, settings: Settings, message: Message) -> str:
        base = settings.public_base_url.rstrip("/")
        return f"{base}/api/v1/webhooks/providers/twilio?message_id={message.id}"

    def _event_data(self, message: Message) -> dict[str, Any]:
        return {
            "message_id": message.id,
            "channel": message.channel,
            "to": message.to,
            "status": message.status,
            "provider": message.provider,
            "provider_message_id": message.provider_message_id,
            "error_code": message.error_code,
        }


messaging = MessagingService()
