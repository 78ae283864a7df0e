"""Offering a new payment to one provider, and recording how that ended.

`offer` makes no database writes: the caller writes the payment once a provider answered
(see `payments.intents.service`). Only refusals before acceptance (`ProviderUnavailable`,
`ProviderNotSupported`) let the caller fall back to the next provider.
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.subject import AuthSubject
from moneyrail.connectors.base import (
    CaptureMode,
    CreatePayment,
    Customer,
    PaymentStatus,
    ProviderDeclined,
    ProviderNotSupported,
    ProviderPayment,
    ProviderTimeout,
    ProviderUnavailable,
)
from moneyrail.core.errors import AppError
from moneyrail.core.money import Money
from moneyrail.payments import transitions
from moneyrail.payments.models import Payment, PaymentAttempt
from moneyrail.payments.providers import ProviderRuntime, Route, call, provider_key

log = structlog.get_logger(__name__)


def create_request(payment: Payment) -> CreatePayment:
    """The provider request for a payment row (the same every time it is sent)."""
    customer = payment.customer or {}
    assert payment.provider_idempotency_key is not None
    return CreatePayment(
        reference=payment.id,
        amount=Money(payment.amount, payment.currency),
        idempotency_key=payment.provider_idempotency_key,
        capture=CaptureMode(payment.capture_mode),
        description=payment.description,
        customer=Customer(
            email=customer.get("email"), phone=customer.get("phone"), name=customer.get("name")
        ),
        return_url=payment.return_url,
        metadata=dict(payment.metadata_ or {}),
        payment_method=payment.payment_method,
    )


async def offer(
    *,
    runtime: ProviderRuntime,
    payment: Payment,
    provider: str,
    route: Route,
    idempotency_key: str,
    seq: int,
) -> tuple[PaymentAttempt, ProviderPayment | AppError]:
    """Offer the payment to one provider; no database work happens here."""
    payment.provider = provider
    payment.environment = route.environment.value
    payment.provider_idempotency_key = provider_key(payment.tenant_id, idempotency_key, provider)
    attempt = PaymentAttempt(
        tenant_id=payment.tenant_id, payment_id=payment.id, seq=seq, provider=provider
    )
    connector = runtime.connectors.get(runtime, provider, route.credentials)
    try:
        result = await call(runtime, connector.create_payment(create_request(payment)))
    except (ProviderUnavailable, ProviderNotSupported) as exc:
        unsupported = isinstance(exc, ProviderNotSupported)
        attempt.outcome = "unsupported" if unsupported else "unavailable"
        attempt.error_code = exc.code
        payment.provider = payment.provider_idempotency_key = None
        log.info("payments.fallback", payment_id=payment.id, provider=provider, error=exc.code)
        return attempt, exc
    except (ProviderTimeout, ProviderDeclined) as exc:
        attempt.outcome = "timeout" if isinstance(exc, ProviderTimeout) else "declined"
        attempt.error_code = exc.code
        return attempt, exc
    attempt.outcome = "accepted"
    return attempt, result


async def settle(
    session: AsyncSession,
    payment: Payment,
    outcome: ProviderPayment | AppError,
    *,
    subject: AuthSubject,
) -> None:
    if isinstance(outcome, ProviderPayment):
        await transitions.apply_provider_payment(
            session, payment, outcome, subject=subject, reason="created"
        )
    elif isinstance(outcome, ProviderTimeout):
        await transitions.move(
            session, payment, PaymentStatus.processing, subject=subject, reason="timeout"
        )
    else:
        payment.failure_code = str(outcome.extra.get("provider_code") or outcome.code)[:64]
        payment.failure_message = outcome.detail[:500]
        await transitions.move(
            session, payment, PaymentStatus.failed, subject=subject, reason="declined"
        )
