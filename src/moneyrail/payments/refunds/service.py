"""Refunds: partial or full, never more than was captured.

The limit is checked twice. Here, under the payment's row lock, against the sum of the
refunds not failed (pending ones hold their amount); and by the provider, which refuses an
over-refund itself. A refund that succeeds posts its reversing ledger entry and moves the
payment to `partially_refunded` or `refunded` in the same transaction.
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.subject import AuthSubject
from moneyrail.connectors.base import Environment, PaymentStatus, ProviderTimeout, RefundStatus
from moneyrail.core.errors import Conflict, NotFound, Unprocessable
from moneyrail.core.ids import new_id
from moneyrail.core.money import CurrencyMismatch, Money
from moneyrail.payments import state, transitions
from moneyrail.payments.intents import provider_state
from moneyrail.payments.intents.service import payment as payment_service
from moneyrail.payments.models import Payment, Refund
from moneyrail.payments.providers import ProviderRuntime, call, open_connector, provider_key
from moneyrail.payments.refunds.repository import repository
from moneyrail.payments.refunds.schemas import CreateRefundIn

log = structlog.get_logger(__name__)


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
        idempotency_key: str,
    ) -> Refund:
        """Refund all or part of a captured payment.

        Raises:
            PaymentNotFound, PaymentNotRefundable, CurrencyMismatch, RefundExceedsCaptured,
            ProviderDeclined (the provider refused, e.g. its own over-refund check),
            ProviderUnavailable (nothing refunded; retry).
        """
        tenant_id = subject.tenant_id
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
                extra={"refundable": {"amount": max(remaining, 0), "currency": payment.currency}},
            )
        assert payment.provider is not None and payment.provider_payment_id is not None
        refund = Refund(
            tenant_id=tenant_id,
            id=new_id("re"),
            payment_id=payment.id,
            status=RefundStatus.pending.value,
            amount=amount.amount,
            currency=amount.currency,
            reason=body.reason,
            provider=payment.provider,
            provider_idempotency_key=provider_key(
                tenant_id, idempotency_key, payment.provider, "refund"
            ),
        )
        await repository.add(session, refund)
        await transitions.record_refund_created(session, refund, subject=subject)
        async with open_connector(
            session,
            runtime=runtime,
            tenant_id=tenant_id,
            provider=payment.provider,
            environment=Environment(payment.environment),
        ) as connector:
            try:
                result = await call(
                    runtime,
                    connector.refund(
                        payment.provider_payment_id,
                        amount=amount,
                        idempotency_key=refund.provider_idempotency_key or refund.id,
                        reason=body.reason,
                    ),
                )
            except ProviderTimeout:
                # The provider may have refunded: keep the amount reserved until its webhook
                # (or a later verify) says what happened.
                log.warning("payments.refund_unanswered", refund_id=refund.id)
                return refund
        refund.provider_refund_id = result.provider_refund_id
        await session.flush()
        await transitions.settle_refund(
            session, refund, payment, result.status, subject=subject, reason="provider answered"
        )
        return refund

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
