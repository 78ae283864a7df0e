"""Refunds."""

from __future__ import annotations

from fastapi import APIRouter

from moneyrail.core.db import SessionDep
from moneyrail.core.errors import problem_responses
from moneyrail.core.idempotency import IdempotentRoute, idempotent
from moneyrail.payments.auth import PaymentsRead, PaymentsWrite
from moneyrail.payments.deps import CallRecorder, Runtime
from moneyrail.payments.providers import PROVIDER_ERRORS
from moneyrail.payments.refunds import views
from moneyrail.payments.refunds.schemas import (
    CreateRefundIn,
    RefundOut,
)
from moneyrail.payments.refunds.service import refunds as refund_service

router = APIRouter(tags=["payments"], route_class=IdempotentRoute)


@router.post(
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
    recorder: CallRecorder,
) -> RefundOut:
    """Refunds a captured payment in full or in part at its provider and posts the refund to
    the ledger. Answers 409 when the payment is not captured and 422 when the amount exceeds
    what is left to refund. The refund is recorded before the provider is called: while its
    outcome is unresolved, a retry with the same key answers 409 `refund_in_flight` until
    the recovery job has looked it up at the provider."""
    refund = await refund_service.create(
        session, subject=subject, runtime=runtime, body=body, recorder=recorder
    )
    return views.refund_out(refund)


@router.get(
    "/refunds/{refund_id}",
    response_model=RefundOut,
    summary="A refund",
    responses=problem_responses(404),
)
async def get_refund(refund_id: str, subject: PaymentsRead, session: SessionDep) -> RefundOut:
    """One refund with its provider reference and status."""
    refund = await refund_service.get(session, tenant_id=subject.tenant_id, refund_id=refund_id)
    return views.refund_out(refund)
