"""SMS, e-mail and templates; and the verified status callbacks of Twilio and Resend."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from moneyrail.connectors import resend as resend_connector
from moneyrail.connectors import twilio as twilio_connector
from moneyrail.connectors.base import InvalidWebhookSignature
from moneyrail.core import limits
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import BadRequest, problem_responses
from moneyrail.core.idempotency import IdempotentRoute, idempotent
from moneyrail.core.pagination import Page, PageParams, make_page, page_params
from moneyrail.core.settings import Settings
from moneyrail.messaging import providers
from moneyrail.messaging.auth import MessagingRead, MessagingWrite
from moneyrail.messaging.schemas import (
    EmailCreate,
    MessageOut,
    SmsCreate,
    TemplateCreate,
    TemplateOut,
)
from moneyrail.messaging.service import messaging

router = APIRouter(tags=["messaging"], route_class=IdempotentRoute)

Paging = Annotated[PageParams, Depends(page_params)]

# Explicit provider paths, matched before the payment providers' `{provider}` route
# (see `messaging.lifecycle`).
TWILIO_CALLBACK_PATH = "/webhooks/providers/twilio"
RESEND_CALLBACK_PATH = "/webhooks/providers/resend"


def _settings(request: Request) -> Settings:
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return settings


SettingsDep = Annotated[Settings, Depends(_settings)]


@router.post(
    "/sms",
    summary="Send an SMS (queued; the worker sends it)",
    status_code=202,
    response_model=MessageOut,
    responses=problem_responses(404, 422),
)
@idempotent()
async def send_sms(body: SmsCreate, subject: MessagingWrite, session: SessionDep) -> MessageOut:
    """Queue an SMS to `to` (E.164) through the outbox; test mode goes to the Twilio sandbox.
    Answers 202 with the message `queued`; 422 for a malformed number or body, 404 for an
    unknown template."""
    message = await messaging.queue_sms(
        session,
        tenant_id=subject.tenant_id,
        environment=subject.environment,
        to=body.to,
        body=body.body,
        template=body.template,
        variables=body.variables,
    )
    return MessageOut.model_validate(message)


@router.get("/sms/{message_id}", summary="An SMS and its status", responses=problem_responses(404))
async def get_sms(message_id: str, subject: MessagingRead, session: SessionDep) -> MessageOut:
    """One of the tenant's SMS messages with its delivery status, provider id and any error.
    404 for an unknown id or another tenant's message."""
    message = await messaging.get_message(
        session, tenant_id=subject.tenant_id, message_id=message_id, channel="sms"
    )
    return MessageOut.model_validate(message)


@router.post(
    "/email",
    summary="Send an e-mail (queued; the worker sends it)",
    status_code=202,
    response_model=MessageOut,
    responses=problem_responses(404, 422),
)
@idempotent()
async def send_email(body: EmailCreate, subject: MessagingWrite, session: SessionDep) -> MessageOut:
    """Queue an e-mail (text and/or HTML, or a template) through the outbox; test mode goes to
    the Resend sandbox. Answers 202 with the message `queued`; 422 for a malformed address or
    body."""
    message = await messaging.queue_email(
        session,
        tenant_id=subject.tenant_id,
        environment=subject.environment,
        to=str(body.to),
        subject=body.subject,
        text=body.text,
        html=body.html,
        template=body.template,
        variables=body.variables,
    )
    return MessageOut.model_validate(message)


@router.get(
    "/email/{message_id}", summary="An e-mail and its status", responses=problem_responses(404)
)
async def get_email(message_id: str, subject: MessagingRead, session: SessionDep) -> MessageOut:
    """One of the tenant's e-mails with its delivery status, provider id and any error. 404 for
    an unknown id or another tenant's message."""
    message = await messaging.get_message(
        session, tenant_id=subject.tenant_id, message_id=message_id, channel="email"
    )
    return MessageOut.model_validate(message)


@router.get("/templates", summary="List message templates", response_model=Page[TemplateOut])
async def list_templates(
    subject: MessagingRead, session: SessionDep, page: Paging
) -> Page[TemplateOut]:
    """The tenant's message templates, newest first, with cursor pagination."""
    rows = await messaging.list_templates(session, tenant_id=subject.tenant_id, page=page)
    items, cursor = make_page(rows, page, lambda r: r.id)
    return Page(data=[TemplateOut.model_validate(r) for r in items], next_cursor=cursor)


@router.post(
    "/templates",
    summary="Create a template (`{{ name }}` placeholders)",
    status_code=201,
    responses=problem_responses(409, 422),
)
@idempotent()
async def create_template(
    body: TemplateCreate, subject: MessagingWrite, session: SessionDep
) -> TemplateOut:
    """Create a named SMS or e-mail template whose `{{placeholders}}` are filled when a message
    names it. 409 when the tenant already has a template of that name; 422 for a malformed
    template."""
    row = await messaging.create_template(
        session,
        tenant_id=subject.tenant_id,
        name=body.name,
        channel=body.channel,
        subject=body.subject,
        text=body.text,
        html=body.html,
        actor=subject,
    )
    return TemplateOut.model_validate(row)


# --- provider status callbacks (no credentials: the signature is the authentication) --------


async def _limited_body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > limits.provider_event_payload_bytes_max:
        raise BadRequest("the event is too large")
    return body


@router.post(
    TWILIO_CALLBACK_PATH,
    summary="Twilio status callback (X-Twilio-Signature)",
    status_code=204,
    responses=problem_responses(401),
    tags=["webhooks"],
)
async def twilio_status(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Twilio's status callback for a message sent through it: the `X-Twilio-Signature` is
    checked in constant time against the platform's auth token before the status is applied.
    401 for a missing or wrong signature."""
    await _limited_body(request)
    form = await request.form()
    params = {k: str(v) for k, v in form.items()}
    token = providers.twilio_token_for(settings, params.get("AccountSid"))
    query = f"?{request.url.query}" if request.url.query else ""
    urls = [
        str(request.url),
        f"{settings.public_base_url.rstrip('/')}{request.url.path}{query}",
    ]
    if token is None or not twilio_connector.verify_signature(
        auth_token=token,
        urls=urls,
        params=params,
        signature=request.headers.get(twilio_connector.SIGNATURE_HEADER),
    ):
        raise InvalidWebhookSignature("the X-Twilio-Signature does not verify")
    twilio_status_value = params.get("MessageStatus") or params.get("SmsStatus")
    sid = params.get("MessageSid") or params.get("SmsSid")
    await messaging.record_status(
        session,
        provider="twilio",
        event_id=f"{sid}:{twilio_status_value}",
        provider_message_id=sid,
        message_id=request.query_params.get("message_id"),
        status=twilio_connector.STATUS_MAP.get(twilio_status_value or ""),
        payload=params,
    )
    return Response(status_code=204)


@router.post(
    RESEND_CALLBACK_PATH,
    summary="Resend delivery event (svix-id, svix-timestamp, svix-signature)",
    status_code=204,
    responses=problem_responses(401),
    tags=["webhooks"],
)
async def resend_event(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Resend's delivery event (Svix-signed: `svix-id`, `svix-timestamp`, `svix-signature`;
    timestamps outside the tolerance refused both ways) applied to the e-mail it names. 401
    for a bad or stale signature; 400 for an oversized event."""
    body = await _limited_body(request)
    event = None
    for secret in providers.resend_webhook_secrets(settings):
        try:
            event = resend_connector.verify_webhook(
                secret=secret, headers=request.headers, body=body
            )
            break
        except InvalidWebhookSignature:
            continue
    if event is None:
        raise InvalidWebhookSignature("the svix signature does not verify")
    raw_data = event.get("data")
    data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
    await messaging.record_status(
        session,
        provider="resend",
        event_id=request.headers.get("svix-id", ""),
        provider_message_id=str(data.get("email_id")) if data.get("email_id") else None,
        message_id=None,
        status=resend_connector.EVENT_STATUS.get(str(event.get("type"))),
        payload=json.loads(body),
    )
    return Response(status_code=204)
