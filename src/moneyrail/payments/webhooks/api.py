"""Inbound webhooks from the payment providers.

`POST /api/v1/webhooks/providers/{provider}?tenant=<tenant id>`. Only the six payment
providers match this route, so other domains' provider webhooks (`/webhooks/providers/
twilio`, …) stay theirs and an unknown provider is a 404. No API key: the provider's
signature over the raw body, checked with the named tenant's secrets, is the credential.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.convertors import Convertor, register_url_convertor

from moneyrail.core import limits
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import AppError, problem_responses
from moneyrail.payments.deps import Runtime
from moneyrail.payments.routing.rules import PAYMENT_PROVIDERS
from moneyrail.payments.webhooks.service import inbound


class PaymentProviderConvertor(Convertor[str]):
    regex = "|".join(PAYMENT_PROVIDERS)

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("payment_provider", PaymentProviderConvertor())

router = APIRouter(tags=["webhooks"])
Tenant = Annotated[
    str | None,
    Query(
        alias="tenant",
        max_length=40,
        description="The tenant whose secrets sign these events (see GET /services).",
    ),
]


class WebhookTooLarge(AppError):
    code = "payload_too_large"
    status = 413
    title = "Webhook body too large"


class WebhookAck(BaseModel):
    received: bool = True
    event_id: str
    type: str
    duplicate: bool = Field(description="True when this event was already applied before.")


async def _receive(
    request: Request, provider: str, tenant: str | None, session: SessionDep, runtime: Runtime
) -> WebhookAck:
    body = await request.body()
    if len(body) > limits.payment_webhook_body_bytes_max:
        raise WebhookTooLarge(f"at most {limits.payment_webhook_body_bytes_max} bytes")
    result = await inbound.receive(
        session,
        runtime=runtime,
        provider=provider,
        tenant_id=tenant,
        headers=dict(request.headers),
        body=body,
        url=str(request.url),
    )
    return WebhookAck(event_id=result.event_id, type=result.event_type, duplicate=result.duplicate)


@router.post(
    "/webhooks/providers/{provider:payment_provider}",
    summary="Receive a payment provider's webhook",
    responses=problem_responses(401, 503),
    openapi_extra={
        "parameters": [
            {
                "name": "provider",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "enum": list(PAYMENT_PROVIDERS)},
            }
        ]
    },
)
async def provider_webhook(
    request: Request, session: SessionDep, runtime: Runtime, tenant: Tenant = None
) -> WebhookAck:
    """Verified over the raw body, applied once per provider event id; 401 when the
    signature does not verify (nothing changes)."""
    provider: str = request.path_params["provider"]
    return await _receive(request, provider, tenant, session, runtime)
