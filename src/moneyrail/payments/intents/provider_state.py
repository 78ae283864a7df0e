"""A payment's state at its provider, brought home: the outcome of a recorded create applied
once (by the request or by the recovery job, whichever comes first), a payment synced from
the provider's view, and a lost create looked up by our reference — never sent again."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.subject import AuthSubject
from moneyrail.connectors.base import Environment, ProviderPayment
from moneyrail.core.errors import AppError
from moneyrail.payments import transitions
from moneyrail.payments.intents import attempts
from moneyrail.payments.intents.repository import repository
from moneyrail.payments.models import Payment
from moneyrail.payments.providers import ProviderRuntime, call, open_connector


async def apply_created(
    session: AsyncSession,
    *,
    tenant_id: str,
    payment_id: str,
    outcome: ProviderPayment | AppError,
    subject: AuthSubject | None,
    skip_locked: bool = False,
) -> Payment | None:
    """Apply a create call's outcome to its recorded payment, once: under the payment's row
    lock, and only while its attempt is in flight. None when there is nothing to apply
    (resolved already, or — with `skip_locked` — someone else holds the payment).

    The request applies the outcome it was answered; the recovery job applies what it
    looked up. Whichever comes second finds the attempt resolved and changes nothing, so
    the ledger entry and the events are written once.
    """
    if skip_locked:
        payment = await repository.lock_for_polling(
            session, tenant_id=tenant_id, payment_id=payment_id
        )
    else:
        payment = await repository.payment(
            session, tenant_id=tenant_id, payment_id=payment_id, lock=True
        )
    if payment is None:
        return None
    attempt = await repository.in_flight_attempt(
        session, tenant_id=tenant_id, payment_id=payment_id
    )
    if attempt is None:
        return None
    attempt.outcome = attempts.outcome_of(outcome)
    attempt.error_code = outcome.code if isinstance(outcome, AppError) else None
    await transitions.record_created(session, payment, subject=subject)
    await attempts.settle(session, payment, outcome, subject=subject)
    return payment


async def sync(
    session: AsyncSession,
    *,
    payment: Payment,
    subject: AuthSubject | None,
    runtime: ProviderRuntime,
    reason: str = "verified with the provider",
) -> None:
    """Fetch the provider's view of a locked payment and apply it.

    A payment whose create timed out has no provider id yet: it is looked up at the
    provider by our reference and its idempotency key (`find_payment`), never created
    again; when the provider has none yet, the payment stays as it is.
    """
    if payment.provider is None:
        return
    async with open_connector(
        session,
        runtime=runtime,
        tenant_id=payment.tenant_id,
        provider=payment.provider,
        environment=Environment(payment.environment),
    ) as connector:
        if payment.provider_payment_id is None:
            assert payment.provider_idempotency_key is not None
            found = await call(
                runtime,
                connector.find_payment(
                    reference=payment.id, idempotency_key=payment.provider_idempotency_key
                ),
            )
            if found is None:
                return
            result = found
        else:
            result = await call(runtime, connector.get_payment(payment.provider_payment_id))
    await transitions.apply_provider_payment(
        session, payment, result, subject=subject, reason=reason
    )


async def look_up(
    session: AsyncSession, *, payment: Payment, runtime: ProviderRuntime
) -> ProviderPayment | None:
    """The provider's payment for a recorded create, looked up by our reference and the
    provider idempotency key it carried (never by sending it again); None when the
    provider has none.

    Raises: ProviderUnavailable, ProviderTimeout, ProviderError.
    """
    assert payment.provider is not None and payment.provider_idempotency_key is not None
    async with open_connector(
        session,
        runtime=runtime,
        tenant_id=payment.tenant_id,
        provider=payment.provider,
        environment=Environment(payment.environment),
    ) as connector:
        return await call(
            runtime,
            connector.find_payment(
                reference=payment.id, idempotency_key=payment.provider_idempotency_key
            ),
        )
