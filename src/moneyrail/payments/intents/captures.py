"""Record before you call (design rule 6) for captures.

`record` runs before the provider call in a short transaction of its own (a session from
`Recorder.sessions`, never the request's): under the payment's row lock it checks that the
payment can be captured, writes the capture `in_flight` with the provider idempotency key
it carries and the client's key, maps the client's key to a stored 409 `capture_in_flight`
answer, and commits. The request's transaction then applies the call's outcome once
(`apply`: payment and capture locked, only while the capture is in flight; the capture's
ledger entry is written there). A capture the provider refused is `release`d (nothing
moved; the key is free again). Any other failure leaves the record: a retry with the same
key answers 409 without reaching the provider, and the recovery job (`resolve`, from
`payments.tasks.recover_in_flight`) reads the payment's captured amount at the provider —
the lookup — and applies it, never sending the capture again.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.subject import AuthSubject
from moneyrail.connectors.base import Environment, PaymentStatus, ProviderPayment
from moneyrail.core.db import set_tenant
from moneyrail.core.ids import new_id
from moneyrail.core.money import CurrencyMismatch, Money
from moneyrail.payments import state, transitions
from moneyrail.payments.intents.errors import (
    CaptureExceedsAuthorized,
    PaymentNotCapturable,
    PaymentNotFound,
)
from moneyrail.payments.intents.inflight import CaptureInFlight, Recorder, answer_body, forget
from moneyrail.payments.intents.inflight import remember as remember_answer
from moneyrail.payments.intents.repository import repository
from moneyrail.payments.models import Payment, PaymentCapture
from moneyrail.payments.providers import ProviderRuntime, call, open_connector, provider_key

SUCCEEDED = "succeeded"
FAILED = "failed"
NOT_FOUND = "not_found"


def is_captured(result: ProviderPayment) -> bool:
    return result.status in state.CAPTURED_STATES or result.captured_amount > 0


async def record(
    recorder: Recorder, *, tenant_id: str, payment_id: str, amount: Money | None
) -> str | None:
    """Commit the capture in flight; its id, or None when the payment is captured already.

    Raises: PaymentNotFound, PaymentNotCapturable, CurrencyMismatch, CaptureExceedsAuthorized,
    CaptureInFlight (another capture of this payment is unresolved).
    """
    async with recorder.sessions() as session, session.begin():
        await set_tenant(session, tenant_id)
        payment = await repository.payment(
            session, tenant_id=tenant_id, payment_id=payment_id, lock=True
        )
        if payment is None:
            raise PaymentNotFound(f"no payment {payment_id}")
        if PaymentStatus(payment.status) in state.CAPTURED_STATES:
            return None
        if payment.status != PaymentStatus.authorized.value or payment.provider_payment_id is None:
            raise PaymentNotCapturable(f"the payment is {payment.status}")
        if amount is not None:
            if amount.currency != payment.currency:
                raise CurrencyMismatch(f"the payment is in {payment.currency}")
            if amount.amount > payment.amount:
                raise CaptureExceedsAuthorized(
                    f"at most {Money(payment.amount, payment.currency).format()} can be captured"
                )
        if await repository.capture_in_flight(session, tenant_id=tenant_id, payment_id=payment_id):
            raise CaptureInFlight(
                "a capture of this payment was sent to the provider and is being resolved",
                extra={"payment_id": payment_id},
            )
        assert payment.provider is not None
        capture = PaymentCapture(
            tenant_id=tenant_id,
            id=new_id("cap"),
            payment_id=payment_id,
            status="in_flight",
            amount=amount.amount if amount is not None else None,
            currency=payment.currency,
            provider=payment.provider,
            provider_idempotency_key=provider_key(
                tenant_id, recorder.key, payment.provider, "capture"
            ),
            idempotency_key=recorder.key or None,
        )
        await repository.add_capture(session, capture)
        await remember_answer(
            session,
            recorder,
            tenant_id,
            answer_body(
                CaptureInFlight,
                "the provider was called to capture this payment and its outcome is not "
                "recorded yet; it is being resolved from the provider — read the payment, or "
                "retry later",
                payment_id=payment_id,
                capture_id=capture.id,
            ),
        )
        return capture.id


async def release(recorder: Recorder, *, tenant_id: str, capture_id: str, error_code: str) -> None:
    """Close a capture the provider refused (nothing captured): the key is free again."""
    async with recorder.sessions() as session, session.begin():
        await set_tenant(session, tenant_id)
        capture = await repository.capture(session, tenant_id=tenant_id, capture_id=capture_id)
        if capture is not None and capture.status == "in_flight":
            capture.status, capture.error_code = FAILED, error_code
            await session.flush()
        await forget(session, recorder, tenant_id)


async def apply(
    session: AsyncSession,
    *,
    payment: Payment,
    capture: PaymentCapture,
    result: ProviderPayment,
    subject: AuthSubject | None,
    reason: str,
) -> bool:
    """Apply the provider's answer to a capture (both rows locked by the caller), once:
    False when the capture is no longer in flight (resolved already)."""
    if capture.status != "in_flight":
        return False
    capture.status = SUCCEEDED if is_captured(result) else NOT_FOUND
    await transitions.apply_provider_payment(
        session, payment, result, subject=subject, reason=reason
    )
    await session.flush()
    return True


async def look_up(
    session: AsyncSession, *, payment: Payment, runtime: ProviderRuntime
) -> ProviderPayment:
    """The payment as its provider holds it (its captured amount): a capture is looked up by
    reading the payment, never by sending the capture again.

    Raises: ProviderUnavailable, ProviderTimeout, ProviderError.
    """
    assert payment.provider is not None and payment.provider_payment_id is not None
    async with open_connector(
        session,
        runtime=runtime,
        tenant_id=payment.tenant_id,
        provider=payment.provider,
        environment=Environment(payment.environment),
    ) as connector:
        return await call(runtime, connector.get_payment(payment.provider_payment_id))
