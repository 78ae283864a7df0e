"""Refunds: partial or full, never more than was captured.

The limit is checked twice. Here, under the payment's row lock, against the sum of the
refunds not failed (pending and in-flight ones hold their amount); and by the provider,
which refuses an over-refund itself. A refund that succeeds posts its reversing ledger entry
and moves the payment to `partially_refunded` or `refunded` in the same transaction.

A refund records before it calls (design rule 6): a short transaction of its own checks the
limit under the payment's row lock, writes the refund `in_flight` with the provider
idempotency key it carries and the client's key, maps the client's key to a stored 409
`refund_in_flight` answer, and commits. The call runs next; the request's transaction
applies its outcome under the payment's and the refund's row locks, only while the refund
is in flight (ledger entry once). A refusal releases the record (refund failed, key free).
Any other failure leaves it: a retry answers 409 without reaching the provider, and the
recovery job (`payments.tasks.recover_in_flight` → `recover_in_flight` here) reads the
payment's refunded amount at the provider to resolve it, never sending the refund again.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.subject import AuthSubject
from moneyrail.connectors.base import (
    Environment,
    PaymentStatus,
    ProviderDeclined,
    ProviderError,
    ProviderNotSupported,
    RefundStatus,
)
from moneyrail.connectors.http import ProviderCredentialsRejected
from moneyrail.core.db import set_tenant
from moneyrail.core.errors import AppError, Conflict, NotFound, Unprocessable
from moneyrail.core.ids import new_id
from moneyrail.core.money import CurrencyMismatch, Money
from moneyrail.payments import state, transitions
from moneyrail.payments.intents import inflight, provider_state
from moneyrail.payments.intents.inflight import Recorder
from moneyrail.payments.intents.service import payment as payment_service
from moneyrail.payments.models import Payment, Refund
from moneyrail.payments.providers import ProviderRuntime, call, open_connector, provider_key
from moneyrail.payments.refunds.repository import repository
from moneyrail.payments.refunds.schemas import CreateRefundIn

log = structlog.get_logger(__name__)

IN_FLIGHT = "in_flight"


class RefundNotFound(NotFound):
    code = "refund_not_found"
    title = "Refund not found"


class PaymentNotRefundable(Conflict):
    code = "payment_not_refundable"
    title = "Only a captured payment can be refunded"


class RefundExceedsCaptured(Unprocessable):
    code = "refund_exceeds_captured"
    title = "Refund exceeds the amount left to refund"


class RefundService:
    async def create(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        runtime: ProviderRuntime,
        body: CreateRefundIn,
        recorder: Recorder,
    ) -> Refund:
        """Refund all or part of a captured payment, recorded before the provider call.

        Raises:
            PaymentNotFound, PaymentNotRefundable, CurrencyMismatch, RefundExceedsCaptured,
            ProviderDeclined (the provider refused, e.g. its own over-refund check: nothing
            refunded, the key is free again), ProviderUnavailable, ProviderTimeout,
            ProviderError (the refund stays in flight: a retry with the same key answers 409
            until the recovery job resolves it).
        """
        tenant_id = subject.tenant_id
        # Committed before the call: whatever happens next, the refund is on record and its
        # amount reserved.
        refund_id = await self._record(recorder, tenant_id=tenant_id, body=body)
        payment = await payment_service.get(
            session, tenant_id=tenant_id, payment_id=body.payment_id
        )
        recorded = await repository.refund(session, tenant_id=tenant_id, refund_id=refund_id)
        assert recorded is not None and payment.payment.provider_payment_id is not None
        try:
            async with open_connector(
                session,
                runtime=runtime,
                tenant_id=tenant_id,
                provider=recorded.provider,
                environment=Environment(payment.payment.environment),
            ) as connector:
                result = await call(
                    runtime,
                    connector.refund(
                        payment.payment.provider_payment_id,
                        amount=Money(recorded.amount, recorded.currency),
                        idempotency_key=recorded.provider_idempotency_key or recorded.id,
                        reason=recorded.reason,
                    ),
                )
        except (ProviderDeclined, ProviderNotSupported, ProviderCredentialsRejected) as exc:
            # Refused: nothing was refunded, nothing to resolve, and the key is free.
            await self._release(recorder, tenant_id=tenant_id, refund_id=refund_id, error=exc)
            raise
        except ProviderError:
            log.warning("payments.refund_unresolved", refund_id=refund_id)
            raise
        locked = await payment_service.locked(
            session, tenant_id=tenant_id, payment_id=body.payment_id
        )
        refund = await repository.refund(
            session, tenant_id=tenant_id, refund_id=refund_id, lock=True
        )
        assert refund is not None
        if refund.status == IN_FLIGHT:
            refund.provider_refund_id = result.provider_refund_id
            await self._settle_recorded(
                session, refund, locked, result.status, subject=subject, reason="provider answered"
            )
        return refund

    async def _record(self, recorder: Recorder, *, tenant_id: str, body: CreateRefundIn) -> str:
        """Phase 1: under the payment's row lock, check what is left to refund and commit
        the refund in flight with the stored 409 under the client's key; its id."""
        async with recorder.sessions() as session, session.begin():
            await set_tenant(session, tenant_id)
            payment = await payment_service.locked(
                session, tenant_id=tenant_id, payment_id=body.payment_id
            )
            if PaymentStatus(payment.status) not in state.CAPTURED_STATES:
                raise PaymentNotRefundable(f"the payment is {payment.status}")
            reserved, _ = await repository.refund_totals(
                session, tenant_id=tenant_id, payment_id=payment.id
            )
            remaining = payment.captured_amount - reserved
            if body.amount is not None:
                amount = body.amount.to_money()
                if amount.currency != payment.currency:
                    raise CurrencyMismatch(f"the payment is in {payment.currency}")
            else:
                amount = Money(remaining, payment.currency)
            if amount.amount <= 0 or amount.amount > remaining:
                raise RefundExceedsCaptured(
                    f"{Money(max(remaining, 0), payment.currency).format()} is left to refund",
                    extra={
                        "refundable": {"amount": max(remaining, 0), "currency": payment.currency}
                    },
                )
            assert payment.provider is not None and payment.provider_payment_id is not None
            refund = Refund(
                tenant_id=tenant_id,
                id=new_id("re"),
                payment_id=payment.id,
                status=IN_FLIGHT,
                amount=amount.amount,
                currency=amount.currency,
                reason=body.reason,
                provider=payment.provider,
                provider_idempotency_key=provider_key(
                    tenant_id, recorder.key, payment.provider, "refund"
                ),
                idempotency_key=recorder.key or None,
            )
            await repository.add(session, refund)
            await inflight.remember(
                session,
                recorder,
                tenant_id,
                inflight.answer_body(
                    inflight.RefundInFlight,
                    "the provider was called for this refund and its outcome is not recorded "
                    "yet; it is being resolved from the provider — read the refund, or retry "
                    "later",
                    refund_id=refund.id,
                    payment_id=payment.id,
                ),
            )
            return refund.id

    async def _release(
        self, recorder: Recorder, *, tenant_id: str, refund_id: str, error: AppError
    ) -> None:
        """Close a refund the provider refused: failed, its amount free, the key free."""
        async with recorder.sessions() as session, session.begin():
            await set_tenant(session, tenant_id)
            refund = await repository.refund(
                session, tenant_id=tenant_id, refund_id=refund_id, lock=True
            )
            if refund is not None and refund.status == IN_FLIGHT:
                refund.status = RefundStatus.failed.value
                refund.failure_message = error.detail[:500] if error.detail else error.code
                await session.flush()
            await inflight.forget(session, recorder, tenant_id)

    async def _settle_recorded(
        self,
        session: AsyncSession,
        refund: Refund,
        payment: Payment,
        status: RefundStatus,
        *,
        subject: AuthSubject | None,
        reason: str,
    ) -> None:
        """Apply the outcome of a refund in flight (both rows locked by the caller), once."""
        refund.status = RefundStatus.pending.value
        await session.flush()
        await transitions.record_refund_created(session, refund, subject=subject)
        await transitions.settle_refund(
            session, refund, payment, status, subject=subject, reason=reason
        )

    async def recover_in_flight(
        self,
        session: AsyncSession,
        *,
        runtime: ProviderRuntime,
        payment: Payment,
        give_up_before: datetime,
    ) -> list[Refund]:
        """Resolve the payment's refunds in flight (its row locked by the caller) by reading
        the payment's refunded amount at the provider — never by sending a refund again.

        What the provider refunded beyond our settled and pending refunds is matched against
        the refunds in flight: all of them when it equals their sum (each succeeded), none
        when it is nothing (each failed, once the lookup bound has passed, and only at a
        provider that reports partial refunds). Anything else stays in flight for a later
        pass. Returns the refunds resolved.
        """
        refunds = await repository.refunds_of(
            session, tenant_id=payment.tenant_id, payment_id=payment.id
        )
        in_flight = [r for r in refunds if r.status == IN_FLIGHT]
        if not in_flight:
            return []
        settled = sum(
            r.amount
            for r in refunds
            if r.status in (RefundStatus.pending.value, RefundStatus.succeeded.value)
        )
        assert payment.provider is not None and payment.provider_payment_id is not None
        async with open_connector(
            session,
            runtime=runtime,
            tenant_id=payment.tenant_id,
            provider=payment.provider,
            environment=Environment(payment.environment),
        ) as connector:
            found = await call(runtime, connector.get_payment(payment.provider_payment_id))
            exact = bool(getattr(connector, "reports_partial_refunds", False))
        beyond = found.refunded_amount - settled
        waiting = sum(r.amount for r in in_flight)
        if beyond == waiting:
            for refund in in_flight:
                await self._settle_recorded(
                    session,
                    refund,
                    payment,
                    RefundStatus.succeeded,
                    subject=None,
                    reason="refund recovered from the provider",
                )
            return in_flight
        if beyond == 0 and exact and all(r.created_at < give_up_before for r in in_flight):
            for refund in in_flight:
                refund.status = RefundStatus.failed.value
                refund.failure_message = "the provider has no refund for it; nothing was refunded"
            await session.flush()
            return in_flight
        log.warning(
            "payments.refund_in_flight_unmatched",
            payment_id=payment.id,
            refunded_at_provider=found.refunded_amount,
            settled=settled,
            in_flight=waiting,
        )
        return []

    async def get(self, session: AsyncSession, *, tenant_id: str, refund_id: str) -> Refund:
        """Raises: RefundNotFound."""
        refund = await repository.refund(session, tenant_id=tenant_id, refund_id=refund_id)
        if refund is None:
            raise RefundNotFound(f"no refund {refund_id}")
        return refund

    async def refresh_pending(
        self, session: AsyncSession, *, runtime: ProviderRuntime, payment: Payment
    ) -> int:
        """Ask the provider about the payment's pending refunds (its row locked by the
        caller); returns how many settled."""
        pending = [
            r
            for r in await repository.refunds_of(
                session, tenant_id=payment.tenant_id, payment_id=payment.id
            )
            if r.status == RefundStatus.pending.value and r.provider_refund_id is not None
        ]
        if not pending:
            return 0
        settled = 0
        async with open_connector(
            session,
            runtime=runtime,
            tenant_id=payment.tenant_id,
            provider=payment.provider or pending[0].provider,
            environment=Environment(payment.environment),
        ) as connector:
            for refund in pending:
                assert refund.provider_refund_id is not None
                result = await call(runtime, connector.get_refund(refund.provider_refund_id))
                settled += await transitions.settle_refund(
                    session, refund, payment, result.status, subject=None, reason="verified"
                )
        return settled

    async def sync(
        self,
        session: AsyncSession,
        *,
        runtime: ProviderRuntime,
        tenant_id: str,
        provider: str,
        provider_refund_id: str,
        environment: Environment,
    ) -> Refund | None:
        """Apply the provider's state of one refund, found by its provider id.

        A refund we asked for but never heard back about is matched by payment and amount;
        one made elsewhere (the provider's dashboard) is recorded, within what is refundable.
        None when its payment is not ours.
        """
        async with open_connector(
            session,
            runtime=runtime,
            tenant_id=tenant_id,
            provider=provider,
            environment=environment,
        ) as connector:
            result = await call(runtime, connector.get_refund(provider_refund_id))
        payment = await payment_service.by_provider_id(
            session,
            tenant_id=tenant_id,
            provider=provider,
            provider_payment_id=result.provider_payment_id,
            lock=True,
        )
        if payment is None:
            return None
        if PaymentStatus(payment.status) not in state.CAPTURED_STATES:
            # News of the refund came before news of the capture: catch the payment up first.
            await provider_state.sync(
                session, payment=payment, subject=None, runtime=runtime, reason="refund event"
            )
            if PaymentStatus(payment.status) not in state.CAPTURED_STATES:
                log.warning("payments.refund_before_capture", payment_id=payment.id)
                return None
        refund = await repository.refund_by_provider_id(
            session, tenant_id=tenant_id, provider=provider, provider_refund_id=provider_refund_id
        )
        if refund is None:
            refund = await repository.unlinked_pending_refund(
                session, tenant_id=tenant_id, payment_id=payment.id, amount=result.amount.amount
            )
            if refund is not None:
                refund.provider_refund_id = provider_refund_id
        if refund is None:
            reserved, _ = await repository.refund_totals(
                session, tenant_id=tenant_id, payment_id=payment.id
            )
            if result.amount.amount > payment.captured_amount - reserved:
                log.error(
                    "payments.refund_unaccounted",
                    payment_id=payment.id,
                    provider_refund_id=provider_refund_id,
                )
                return None
            refund = Refund(
                tenant_id=tenant_id,
                id=new_id("re"),
                payment_id=payment.id,
                status=RefundStatus.pending.value,
                amount=result.amount.amount,
                currency=result.amount.currency,
                reason="made at the provider",
                provider=provider,
                provider_refund_id=provider_refund_id,
            )
            await repository.add(session, refund)
            await transitions.record_refund_created(session, refund, subject=None)
        await session.flush()
        await transitions.settle_refund(
            session, refund, payment, result.status, subject=None, reason="provider event"
        )
        return refund


refunds = RefundService()
