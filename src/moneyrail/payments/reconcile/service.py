"""Verification: asking a provider for the state of a payment and of its pending refunds.

It builds on both the payments and the refunds sub-domains (refunds build on payments), so
it lives beside them rather than in either.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.subject import AuthSubject
from moneyrail.payments.intents import provider_state
from moneyrail.payments.intents.service import PaymentView
from moneyrail.payments.intents.service import payment as payment_service
from moneyrail.payments.providers import ProviderRuntime
from moneyrail.payments.refunds.service import refunds as refund_service


class ReconcileService:
    async def verify(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject | None,
        runtime: ProviderRuntime,
        tenant_id: str,
        payment_id: str,
    ) -> PaymentView:
        """Ask the provider for the payment's state, and its pending refunds' states, and
        apply them (forward only).

        Raises: PaymentNotFound, ProviderUnavailable, ProviderTimeout.
        """
        payment = await payment_service.locked(session, tenant_id=tenant_id, payment_id=payment_id)
        await provider_state.sync(session, payment=payment, subject=subject, runtime=runtime)
        await refund_service.refresh_pending(session, runtime=runtime, payment=payment)
        return await payment_service.get(session, tenant_id=tenant_id, payment_id=payment_id)


reconcile = ReconcileService()
