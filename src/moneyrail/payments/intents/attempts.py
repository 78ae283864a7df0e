"""Offering a new payment to one provider, and applying how that ended.

`prepare` makes the attempt (in flight), which the caller commits before the call
(`payments.intents.inflight`); `offer` makes the call and no database writes; `settle`
applies the outcome. Only refusals before acceptance (`ProviderUnavailable`,
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
from moneyrail.payments.intents.inflight import IN_FLIGHT, NOT_FOUND
from moneyrail.payments.models import Payment, PaymentAttempt
from moneyrail.payments.providers import ProviderRuntime, Route, call, provider_key

log = structlog.get_logger(__name__)

# Outcomes of a provider that refused before accepting: nothing made, the next one is tried.
REFUSED = ("unavailable", "unsupported")


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


class PaymentNeverMade(ProviderDeclined):
    """A create whose answer was lost, and the provider has no trace of it past the lookup
    bound: it never made the payment, so nothing was charged."""

    code = "provider_has_no_payment"
    title = "The provider never made the payment"


def prepare(
    payment: Payment, *, provider: str, route: Route, idempotency_key: str, seq: int
) -> PaymentAttempt:
    """Point the payment at one provider and make its attempt, in flight until the call's
    outcome is applied. The provider idempotency key is derived from the client's key, so
    it is the same for every retry of this request."""
    payment.provider = provider
    payment.environment = route.environment.value
    payment.provider_idempotency_key = provider_key(payment.tenant_id, idempotency_key, provider)
    return PaymentAttempt(
        tenant_id=payment.tenant_id,
        payment_id=payment.id,
        seq=seq,
        provider=provider,
        outcome=IN_FLIGHT,
        provider_idempotency_key=payment.provider_idempotency_key,
        reference=payment.id,
    )


def outcome_of(outcome: ProviderPayment | AppError) -> str:
    """The attempt outcome a create's result stands for."""
    if isinstance(outcome, ProviderPayment):
        return "accepted"
    if isinstance(outcome, PaymentNeverMade):
        return NOT_FOUND
    if isinstance(outcome, ProviderTimeout):
        return "timeout"
    if isinstance(outcome, ProviderNotSupported):
        return "unsupported"
    if isinstance(outcome, ProviderUnavailable):
        return "unavailable"
    return "declined"


async def offer(
    *, runtime: ProviderRuntime, payment: Payment, attempt: PaymentAttempt, route: Route
) -> ProviderPayment | AppError:
    """Send the payment's create to the attempt's provider; no database work happens here.

    Refusals before acceptance, declines and timeouts are returned (and set on the attempt);
    anything else (e.g. rejected credentials) raises.
    """
    connector = runtime.connectors.get(runtime, attempt.provider, route.credentials)
    try:
        result = await call(runtime, connector.create_payment(create_request(payment)))
    except (ProviderUnavailable, ProviderNotSupported, ProviderTimeout, ProviderDeclined) as exc:
        attempt.outcome = outcome_of(exc)
        attempt.error_code = exc.code
        if attempt.outcome in REFUSED:
            log.info(
                "payments.fallback",
                payment_id=payment.id,
                provider=attempt.provider,
                error=exc.code,
            )
        return exc
    attempt.outcome = "accepted"
    return result


async def settle(
    session: AsyncSession,
    payment: Payment,
    outcome: ProviderPayment | AppError,
    *,
    subject: AuthSubject | None,
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
