"""Tenant webhooks: endpoints, secrets, test events, delivery logs and manual retries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from moneyrail.admin.auth import AdminWrite
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import problem_responses
from moneyrail.core.idempotency import IdempotentRoute, idempotent
from moneyrail.core.pagination import Page, PageParams, make_page, page_params
from moneyrail.core.settings import Settings
from moneyrail.webhooks.auth import WebhooksAdmin, WebhooksRead, WebhooksWrite
from moneyrail.webhooks.events import catalogue_markdown
from moneyrail.webhooks.schemas import (
    DeliveryDetail,
    DeliveryOut,
    DeliveryStatus,
    ProcessPending,
    ProcessPendingOut,
    RotateSecret,
    WebhookCreate,
    WebhookOut,
    WebhookUpdate,
    WebhookWithSecret,
)
from moneyrail.webhooks.service import webhooks

router = APIRouter(tags=["webhooks"], route_class=IdempotentRoute)

Paging = Annotated[PageParams, Depends(page_params)]


def _settings(request: Request) -> Settings:
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return settings


SettingsDep = Annotated[Settings, Depends(_settings)]


def _with_secret(endpoint: object, secret: str) -> WebhookWithSecret:
    return WebhookWithSecret.model_validate(
        {**WebhookOut.model_validate(endpoint).model_dump(), "secret": secret}
    )


@router.get(
    "/webhooks/events",
    summary="The event types endpoints can subscribe to",
    description=catalogue_markdown(),
)
async def event_catalogue(_: WebhooksRead) -> dict[str, list[dict[str, str]]]:
    from moneyrail.webhooks.events import EVENT_TYPES

    return {"data": [{"type": name, "description": text} for name, text in EVENT_TYPES.items()]}


@router.get("/webhooks/logs", summary="Delivery log", response_model=Page[DeliveryOut])
async def delivery_logs(
    subject: WebhooksRead,
    session: SessionDep,
    page: Paging,
    endpoint_id: Annotated[str | None, Query(max_length=40)] = None,
    event_type: Annotated[str | None, Query(max_length=100)] = None,
    status: DeliveryStatus | None = None,
) -> Page[DeliveryOut]:
    """The tenant's webhook deliveries, newest first, filterable by endpoint, status and event
    type, with cursor pagination."""
    rows = await webhooks.list_deliveries(
        session,
        tenant_id=subject.tenant_id,
        page=page,
        endpoint_id=endpoint_id,
        event_type=event_type,
        status=status,
    )
    items, cursor = make_page(rows, page, lambda r: r.id)
    return Page(data=[DeliveryOut.model_validate(r) for r in items], next_cursor=cursor)


@router.get(
    "/webhooks/deliveries/{delivery_id}",
    summary="A delivery with every attempt",
    responses=problem_responses(404),
)
async def get_delivery(
    delivery_id: str, subject: WebhooksRead, session: SessionDep
) -> DeliveryDetail:
    """One delivery with its attempts (status codes, timings, errors). 404 for an unknown id or
    another tenant's delivery."""
    import json

    delivery, attempts = await webhooks.get_delivery(
        session, tenant_id=subject.tenant_id, delivery_id=delivery_id
    )
    return DeliveryDetail.model_validate(
        {
            **DeliveryOut.model_validate(delivery).model_dump(),
            "payload": json.loads(delivery.body),
            "attempt_log": attempts,
        }
    )


@router.post(
    "/webhooks/deliveries/{delivery_id}/retry",
    summary="Attempt a failed delivery again",
    status_code=202,
    responses=problem_responses(404, 409),
)
@idempotent()
async def retry_delivery(
    delivery_id: str, subject: WebhooksWrite, session: SessionDep
) -> DeliveryOut:
    """One more attempt at a delivery now, with the same webhook-id and body. 404 for an
    unknown id; 409 when it is pending or being attempted already."""
    delivery = await webhooks.retry_delivery(
        session, tenant_id=subject.tenant_id, delivery_id=delivery_id, subject=subject
    )
    return DeliveryOut.model_validate(delivery)


@router.get("/webhooks", summary="List webhook endpoints", response_model=Page[WebhookOut])
async def list_webhooks(
    subject: WebhooksRead, session: SessionDep, page: Paging
) -> Page[WebhookOut]:
    """The tenant's webhook endpoints (without their secrets), with cursor pagination."""
    rows = await webhooks.list_endpoints(session, tenant_id=subject.tenant_id, page=page)
    items, cursor = make_page(rows, page, lambda r: r.id)
    return Page(data=[WebhookOut.model_validate(r) for r in items], next_cursor=cursor)


@router.post(
    "/webhooks",
    summary="Create a webhook endpoint (the secret is shown once)",
    description=catalogue_markdown(),
    status_code=201,
    responses=problem_responses(422),
)
@idempotent(sealed=True)
async def create_webhook(
    body: WebhookCreate, subject: WebhooksWrite, session: SessionDep, settings: SettingsDep
) -> WebhookWithSecret:
    """Register an endpoint for the event types given (wildcards such as `payment.*`); answers
    its signing secret once. 422 for a URL the delivery policy refuses (private or loopback
    addresses in production, non-http(s) schemes)."""
    endpoint, secret = await webhooks.create_endpoint(
        session,
        settings=settings,
        tenant_id=subject.tenant_id,
        url=body.url,
        description=body.description,
        event_types=body.event_types,
        enabled=body.enabled,
        subject=subject,
    )
    return _with_secret(endpoint, secret)


@router.get(
    "/webhooks/{webhook_id}", summary="A webhook endpoint", responses=problem_responses(404)
)
async def get_webhook(webhook_id: str, subject: WebhooksRead, session: SessionDep) -> WebhookOut:
    """One webhook endpoint, without its secret. 404 for an unknown id or another tenant's
    endpoint."""
    endpoint = await webhooks.get_endpoint(
        session, tenant_id=subject.tenant_id, endpoint_id=webhook_id
    )
    return WebhookOut.model_validate(endpoint)


@router.patch(
    "/webhooks/{webhook_id}",
    summary="Change a webhook endpoint",
    responses=problem_responses(404, 422),
)
async def update_webhook(
    webhook_id: str,
    body: WebhookUpdate,
    subject: WebhooksWrite,
    session: SessionDep,
    settings: SettingsDep,
) -> WebhookOut:
    """Change an endpoint's URL, event types, description or active flag. 404 for an unknown
    id; 422 for a URL the delivery policy refuses."""
    endpoint = await webhooks.update_endpoint(
        session,
        settings=settings,
        tenant_id=subject.tenant_id,
        endpoint_id=webhook_id,
        changes=body.model_dump(exclude_unset=True),
        subject=subject,
    )
    return WebhookOut.model_validate(endpoint)


@router.delete(
    "/webhooks/{webhook_id}",
    summary="Delete a webhook endpoint",
    status_code=204,
    responses=problem_responses(403, 404),
)
async def delete_webhook(webhook_id: str, subject: WebhooksAdmin, session: SessionDep) -> Response:
    """Delete an endpoint (a soft delete: it stops receiving events; its deliveries and their
    logs stay). Needs the admin role (403 otherwise); 404 for an unknown id."""
    await webhooks.delete_endpoint(
        session, tenant_id=subject.tenant_id, endpoint_id=webhook_id, subject=subject
    )
    return Response(status_code=204)


@router.post(
    "/webhooks/{webhook_id}/rotate-secret",
    summary="Rotate the signing secret (the old one keeps signing during the overlap)",
    responses=problem_responses(403, 404),
)
@idempotent(sealed=True)
async def rotate_secret(
    webhook_id: str,
    subject: WebhooksAdmin,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[RotateSecret | None, Body(examples=[{"overlap_hours": 24}])] = None,
) -> WebhookWithSecret:
    """Issue a new signing secret (answered once); the old one keeps signing alongside it for
    the overlap. Needs the admin role (403 otherwise); 404 for an unknown id."""
    endpoint, secret = await webhooks.rotate_secret(
        session,
        settings=settings,
        tenant_id=subject.tenant_id,
        endpoint_id=webhook_id,
        overlap_hours=body.overlap_hours if body else None,
        subject=subject,
    )
    return _with_secret(endpoint, secret)


@router.post(
    "/webhooks/{webhook_id}/test",
    summary="Send a webhook.test event to this endpoint",
    status_code=202,
    responses=problem_responses(404),
)
@idempotent()
async def test_webhook(
    webhook_id: str, subject: WebhooksWrite, session: SessionDep, settings: SettingsDep
) -> DeliveryOut:
    """Queue a `webhook.test` event to this endpoint, signed and retried like any delivery. 404
    for an unknown id."""
    delivery = await webhooks.send_test(
        session, settings=settings, tenant_id=subject.tenant_id, endpoint_id=webhook_id
    )
    return DeliveryOut.model_validate(delivery)


@router.post(
    "/admin/webhooks/process-pending",
    summary="Make the tenant's waiting deliveries due now",
    tags=["admin"],
)
async def process_pending(
    subject: AdminWrite,
    session: SessionDep,
    body: Annotated[ProcessPending | None, Body(examples=[{"include_failed": True}])] = None,
) -> JSONResponse:
    """Make the tenant's waiting deliveries (and with `include_failed`, the dead-lettered ones)
    due now, for the worker's next pass. Needs the admin write permission."""
    count = await webhooks.process_pending(
        session,
        tenant_id=subject.tenant_id,
        include_failed=bool(body and body.include_failed),
        subject=subject,
    )
    return JSONResponse(ProcessPendingOut(scheduled=count).model_dump())
