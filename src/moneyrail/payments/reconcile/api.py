"""Asking a provider for the state of a payment and its refunds."""

from __future__ import annotations

from fastapi import APIRouter

from moneyrail.core.db import SessionDep
from moneyrail.core.errors import problem_responses
from moneyrail.core.idempotency import IdempotentRoute, idempotent
from moneyrail.payments.auth import PaymentsWrite
from moneyrail.payments.deps import Runtime
from moneyrail.payments.intents import views
from moneyrail.payments.intents.schemas import (
    PaymentOut,
)
from moneyrail.payments.reconcile.service import reconcile

router = APIRouter(tags=["payments"], route_class=IdempotentRoute)


@router.post(
    "/payments/{payment_id}/verify",
    response_model=PaymentOut,
    summary="Ask the provider for the payment's status",
    responses=problem_responses(404, 502, 503, 504),
)
@idempotent(required=True)
async def verify_payment(
    payment_id: str, subject: PaymentsWrite, session: SessionDep, runtime: Runtime
) -> PaymentOut:
    """Asks the provider for the payment's current state (and its refunds') and applies what
    changed, posting any newly captured or refunded money to the ledger; safe to repeat."""
    view = await reconcile.verify(
        session,
        subject=subject,
        runtime=runtime,
        tenant_id=subject.tenant_id,
        payment_id=payment_id,
    )
    return views.payment_out(view)
