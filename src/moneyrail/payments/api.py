"""The unified payments API: payments, refunds and routing rules; subscriptions, provider
credentials and inbound provider webhooks come from the sibling routers included here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from moneyrail.connectors.base import PaymentStatus
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import problem_responses
from moneyrail.core.idempotency import IdempotencyKey, IdempotentRoute, idempotent
from moneyrail.core.pagination import Page, PageParams, page_params
from moneyrail.payments import api_services, api_subscriptions, api_webhooks, routing, views
from moneyrail.payments.auth import PaymentsRead, PaymentsWrite, ServicesWrite
from moneyrail.payments.deps import Runtime
from moneyrail.payments.refunds import refunds as refund_service
from moneyrail.payments.repository import PaymentFilters
from moneyrail.payments.routing_rules import routing_rules
from moneyrail.payments.schemas import (
    CaptureIn,
    CreatePaymentIn,
    CreateRefundIn,
    PaymentOut,
    ProviderName,
    RefundOut,
    RoutingRuleIn,
    RoutingRulesIn,
    RoutingRulesOut,
)
from moneyrail.payments.service import payment as payment_service

payments_router = APIRouter(tags=["payments"], route_class=IdempotentRoute)
PROVIDER_ERRORS = (404, 409, 422, 502, 503, 504)


@payments_router.post(
    "/payments",
    status_code=201,
    response_model=PaymentOut,
    summary="Create a payment",
    responses=problem_responses(400, 422, 502, 503),
)
@idempotent(required=True)
async def create_payment(
    body: CreatePaymentIn,
    subject: PaymentsWrite,
    session: SessionDep,
    runtime: Runtime,
    key: IdempotencyKey,
) -> PaymentOut:
    """Routes the payment to a provider (falling back past providers that refuse before
    accepting). `next_action` carries the URL to send the customer to when one is needed."""
    view = await payment_service.create(
        session, subject=subject, runtime=runtime, body=body, idempotency_key=key
    )
    return views.payment_out(view)


@payments_router.get("/payments", response_model=Page[PaymentOut], summary="List payments")
async def list_payments(
    subject: PaymentsRead,
    session: SessionDep,
    params: Annotated[PageParams, Depends(page_params)],
    status: PaymentStatus | None = None,
    provider: ProviderName | None = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    environment: Annotated[str | None, Query(pattern=r"^(test|live)$")] = None,
    subscription_id: Annotated[str | None, Query(max_length=40)] = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> Page[PaymentOut]:
    filters = PaymentFilters(
        status=status.value if status else None,
        provider=provider,
        currency=currency,
        environment=environment,
        subscription_id=subscription_id,
        created_after=created_after,
        created_before=created_before,
    )
    rows, cursor = await payment_service.list(
        session, tenant_id=subject.tenant_id, filters=filters, params=params
    )
    return Page(data=[views.payment_out(v) for v in rows], next_cursor=cursor)


@payments_router.get(
    "/payments/{payment_id}",
    response_model=PaymentOut,
    summary="A payment",
    responses=problem_responses(404),
)
async def get_payment(payment_id: str, subject: PaymentsRead, session: SessionDep) -> PaymentOut:
    view = await payment_service.get(session, tenant_id=subject.tenant_id, payment_id=payment_id)
    return views.payment_out(view)


@payments_router.post(
    "/payments/{payment_id}/capture",
    response_model=PaymentOut,
    summary="Capture an authorized payment",
    responses=problem_responses(*PROVIDER_ERRORS),
)
@idempotent(required=True)
async def capture_payment(
    payment_id: str,
    subject: PaymentsWrite,
    session: SessionDep,
    runtime: Runtime,
    key: IdempotencyKey,
    body: CaptureIn | None = None,
) -> PaymentOut:
    view = await payment_service.capture(
        session,
        subject=subject,
        runtime=runtime,
        payment_id=payment_id,
        body=body or CaptureIn(),
        idempotency_key=key,
    )
    return views.payment_out(view)


@payments_router.post(
    "/payments/{payment_id}/cancel",
    response_model=PaymentOut,
    summary="Cancel a payment before it is captured",
    responses=problem_responses(*PROVIDER_ERRORS),
)
@idempotent(required=True)
async def cancel_payment(
    payment_id: str,
    subject: PaymentsWrite,
    session: SessionDep,
    runtime: Runtime,
    key: IdempotencyKey,
) -> PaymentOut:
    view = await payment_service.cancel(
        session, subject=subject, runtime=runtime, payment_id=payment_id, idempotency_key=key
    )
    return views.payment_out(view)


@payments_router.post(
    "/payments/{payment_id}/verify",
    response_model=PaymentOut,
    summary="Ask the provider for the payment's status",
    responses=problem_responses(404, 502, 503, 504),
)
@idempotent(required=True)
async def verify_payment(
    payment_id: str, subject: PaymentsWrite, session: SessionDep, runtime: Runtime
) -> PaymentOut:
    view = await payment_service.verify(
        session,
        subject=subject,
        runtime=runtime,
        tenant_id=subject.tenant_id,
        payment_id=payment_id,
    )
    return views.payment_out(view)


@payments_router.post(
    "/refunds",
    status_code=201,
    response_model=RefundOut,
    summary="Refund a captured payment, in full or in part",
    responses=problem_responses(*PROVIDER_ERRORS),
)
@idempotent(required=True)
async def create_refund(
    body: CreateRefundIn,
    subject: PaymentsWrite,
    session: SessionDep,
    runtime: Runtime,
    key: IdempotencyKey,
) -> RefundOut:
    refund = await refund_service.create(
        session, subject=subject, runtime=runtime, body=body, idempotency_key=key
    )
    return views.refund_out(refund)


@payments_router.get(
    "/refunds/{refund_id}",
    response_model=RefundOut,
    summary="A refund",
    responses=problem_responses(404),
)
async def get_refund(refund_id: str, subject: PaymentsRead, session: SessionDep) -> RefundOut:
    refund = await refund_service.get(session, tenant_id=subject.tenant_id, refund_id=refund_id)
    return views.refund_out(refund)


@payments_router.get(
    "/routing/rules", response_model=RoutingRulesOut, summary="Payment routing rules"
)
async def get_routing_rules(subject: PaymentsRead, session: SessionDep) -> RoutingRulesOut:
    stored = await routing_rules.get(session, tenant_id=subject.tenant_id)
    return _rules_out(stored.rules, stored.default, stored.updated_at)


@payments_router.put(
    "/routing/rules",
    response_model=RoutingRulesOut,
    summary="Replace the payment routing rules",
    responses=problem_responses(422),
)
async def put_routing_rules(
    body: RoutingRulesIn, subject: ServicesWrite, session: SessionDep
) -> RoutingRulesOut:
    """Rules are tried in order; the first whose conditions all hold gives the providers to
    try, in order. `default` applies when none matches (then a built-in order per currency)."""
    stored = await routing_rules.replace(session, subject=subject, body=body)
    return _rules_out(stored.rules, stored.default, stored.updated_at)


def _rules_out(
    rules: list[RoutingRuleIn], default: list[str], updated_at: datetime | None
) -> RoutingRulesOut:
    return RoutingRulesOut(
        rules=rules,
        default=default,
        builtin_default={
            "*": list(routing.builtin_order("")),
            **{cur: list(routing.builtin_order(cur)) for cur in routing.BUILTIN_CURRENCIES},
        },
        updated_at=updated_at,
    )


router = APIRouter()
router.include_router(payments_router)
router.include_router(api_subscriptions.router)
router.include_router(api_services.router)
router.include_router(api_webhooks.router)
