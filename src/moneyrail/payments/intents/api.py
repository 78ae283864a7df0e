"""Payments: create, list, read, capture, cancel."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from moneyrail.connectors.base import PaymentStatus
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import problem_responses
from moneyrail.core.idempotency import IdempotencyKey, IdempotentRoute, idempotent
from moneyrail.core.pagination import Page, PageParams, page_params
from moneyrail.payments.auth import PaymentsRead, PaymentsWrite
from moneyrail.payments.deps import CallRecorder, Runtime
from moneyrail.payments.intents import views
from moneyrail.payments.intents.repository import PaymentFilters
from moneyrail.payments.intents.schemas import (
    CaptureIn,
    CreatePaymentIn,
    PaymentOut,
)
from moneyrail.payments.intents.service import payment as payment_service
from moneyrail.payments.providers import PROVIDER_ERRORS
from moneyrail.payments.schemas import ProviderName

router = APIRouter(tags=["payments"], route_class=IdempotentRoute)


@router.post(
    "/payments",
    status_code=201,
    response_model=PaymentOut,
    summary="Create a payment",
    responses=problem_responses(400, 409, 422, 502, 503),
)
@idempotent(required=True)
async def create_payment(
    body: CreatePaymentIn,
    subject: PaymentsWrite,
    session: SessionDep,
    runtime: Runtime,
    key: IdempotencyKey,
    recorder: CallRecorder,
) -> PaymentOut:
    """Routes the payment to a provider (falling back past providers that refuse before
    accepting). `next_action` carries the URL to send the customer to when one is needed.
    The payment is recorded before the provider is called: while its outcome is unresolved
    (a failure after the provider acted), a retry with the same key answers 409
    `payment_in_flight` until the recovery job has looked it up at the provider."""
    view = await payment_service.create(
        session,
        subject=subject,
        runtime=runtime,
        body=body,
        idempotency_key=key,
        recorder=recorder,
    )
    return views.payment_out(view)


@router.get("/payments", response_model=Page[PaymentOut], summary="List payments")
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
    """The tenant's payments, newest first, filtered by status, provider, currency,
    environment, subscription or creation time; cursor-paginated."""
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


@router.get(
    "/payments/{payment_id}",
    response_model=PaymentOut,
    summary="A payment",
    responses=problem_responses(404),
)
async def get_payment(payment_id: str, subject: PaymentsRead, session: SessionDep) -> PaymentOut:
    """One payment with its provider attempts, captured and refunded amounts. Another tenant's
    id answers 404."""
    view = await payment_service.get(session, tenant_id=subject.tenant_id, payment_id=payment_id)
    return views.payment_out(view)


@router.post(
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
    recorder: CallRecorder,
    body: CaptureIn | None = None,
) -> PaymentOut:
    """Captures an authorized payment, in full or in part (`amount`), at its provider; the
    captured amount is posted to the ledger in the same transaction. Answers 409 when the
    payment is not authorized and 422 when the amount exceeds what is capturable. The
    capture is recorded before the provider is called: while its outcome is unresolved, a
    retry with the same key answers 409 `capture_in_flight` until the recovery job has read
    the payment at the provider."""
    view = await payment_service.capture(
        session,
        subject=subject,
        runtime=runtime,
        payment_id=payment_id,
        body=body or CaptureIn(),
        recorder=recorder,
    )
    return views.payment_out(view)


@router.post(
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
    """Voids an authorized payment at its provider before capture; nothing reaches the ledger.
    Answers 409 once the payment is captured or already final."""
    view = await payment_service.cancel(
        session, subject=subject, runtime=runtime, payment_id=payment_id, idempotency_key=key
    )
    return views.payment_out(view)
