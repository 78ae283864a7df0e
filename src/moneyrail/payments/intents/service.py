"""Payments: create with routing and fallback, read, list, capture, cancel, verify.

Creating a payment records before it calls (design rule 6). Before each provider call a
short transaction of its own commits the payment (status `created`), the attempt `in_flight`
with the provider idempotency key it carries and our reference (the payment id), and maps
the client's Idempotency-Key to a stored 409 `payment_in_flight` answer
(`payments.intents.inflight`). The call runs outside any transaction the payment rows are
written in; its outcome is applied in the request's transaction, under the payment's row
lock and only while the attempt is still in flight (`apply_created`), and the request's
idempotency record then replaces the 409 with the real response. If that transaction fails
after the provider acted, the record remains: a retry with the same key answers 409 without
reaching the provider, and the recovery job (`payments.tasks.recover_in_flight`) looks the
payment up at the provider by our reference or key and applies what it finds the same way —
it never sends the create again. The provider call is bounded
(`limits.payment_provider_call_deadline_seconds`, connector retries included).

Fallback: a provider that refuses before accepting (`ProviderUnavailable`: connection
refused, 429/5xx; or `ProviderNotSupported`) is recorded as such and the next one in the
routing order is tried, each after its own record. When every provider refused (or one
rejected our credentials), the record is released: the payment is `failed`, and the client
may retry with the same key. A provider that took the request but did not answer
(`ProviderTimeout`) may have charged: the payment stays with it as `processing`, and
`verify` or the poller (`payments.tasks`) resolves it by looking it up at that provider —
never by trying another provider.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.subject import AuthSubject
from moneyrail.connectors.base import (
    Environment,
    PaymentStatus,
    ProviderDeclined,
    ProviderNotSupported,
)
from moneyrail.connectors.http import ProviderCredentialsRejected
from moneyrail.core.errors import AppError
from moneyrail.core.ids import new_id
from moneyrail.core.pagination import PageParams
from moneyrail.payments import state, transitions
from moneyrail.payments.intents import attempts, captures, inflight, provider_state
from moneyrail.payments.intents.errors import (
    AllProvidersUnavailable as AllProvidersUnavailable,
)
from moneyrail.payments.intents.errors import (
    CaptureExceedsAuthorized as CaptureExceedsAuthorized,
)
from moneyrail.payments.intents.errors import (
    NoProviderAvailable as NoProviderAvailable,
)
from moneyrail.payments.intents.errors import (
    NoProviderSupports as NoProviderSupports,
)
from moneyrail.payments.intents.errors import (
    PaymentNotCancellable as PaymentNotCancellable,
)
from moneyrail.payments.intents.errors import (
    PaymentNotCapturable as PaymentNotCapturable,
)
from moneyrail.payments.intents.errors import (
    PaymentNotFound as PaymentNotFound,
)
from moneyrail.payments.intents.inflight import Recorder
from moneyrail.payments.intents.repository import PaymentFilters, repository
from moneyrail.payments.intents.schemas import CaptureIn, CreatePaymentIn
from moneyrail.payments.models import Payment, PaymentAttempt
from moneyrail.payments.providers import (
    ProviderRuntime,
    call,
    enabled_providers,
    open_connector,
    provider_key,
)
from moneyrail.payments.routing import rules as routing
from moneyrail.payments.routing.service import routing_rules

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PaymentView:
    payment: Payment
    attempts: list[PaymentAttempt]


class PaymentService:
    async def create(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        runtime: ProviderRuntime,
        body: CreatePaymentIn,
        idempotency_key: str,
        recorder: Recorder,
        subscription_id: str | None = None,
    ) -> PaymentView:
        """Create a payment at the first provider of the routing order that accepts it.

        Raises:
            NoProviderAvailable: routing leaves no usable provider.
            AllProvidersUnavailable: every provider refused before accepting (nothing made).
            ProviderCredentialsRejected: the provider refused our credentials (nothing made).
            ProviderError: a provider answered in a way that is neither; the attempt stays in
                flight and the recovery job resolves it (a retry answers 409 until then).
        """
        tenant_id = subject.tenant_id
        money = body.amount.to_money()
        order: list[str]
        if body.provider is not None:
            order = [body.provider]
        else:
            table = await routing_rules.table(session, tenant_id=tenant_id)
            order = routing.route(
                table,
                routing.PaymentFacts(
                    amount=money.amount,
                    currency=money.currency,
                    country=body.country,
                    method=body.method,
                ),
            )
        usable = await enabled_providers(
            session,
            runtime=runtime,
            tenant_id=tenant_id,
            caller_environment=subject.environment,
            candidates=order,
        )
        if not usable:
            raise NoProviderAvailable(
                f"no provider is set up for {money.currency} payments in this environment",
                extra={"candidates": order},
            )
        payment = Payment(
            tenant_id=tenant_id,
            id=new_id("pay"),
            status=PaymentStatus.created.value,
            environment=next(iter(usable.values())).environment.value,
            amount=money.amount,
            currency=money.currency,
            captured_amount=0,
            refunded_amount=0,
            capture_mode=body.capture.value,
            idempotency_key=idempotency_key,
            description=body.description,
            customer=body.customer.model_dump(exclude_none=True),
            country=body.country,
            method=body.method,
            return_url=body.return_url,
            payment_method=body.payment_method,
            metadata_=dict(body.metadata),
            subscription_id=subscription_id,
        )
        tried: list[PaymentAttempt] = []
        for provider, route in usable.items():
            attempt = attempts.prepare(
                payment,
                provider=provider,
                route=route,
                idempotency_key=idempotency_key,
                seq=len(tried) + 1,
            )
            tried.append(attempt)
            # Committed before the call: whatever happens next, the attempt is on record.
            await inflight.record(recorder, payment, tried)
            try:
                outcome = await attempts.offer(
                    runtime=runtime, payment=payment, attempt=attempt, route=route
                )
            except ProviderCredentialsRejected as exc:
                # Refused before anything was made: nothing to resolve, the key is free.
                attempt.outcome, attempt.error_code = "declined", exc.code
                await inflight.release(
                    recorder, payment, tried, failure_code=exc.code, failure_message=exc.detail
                )
                raise
            if attempt.outcome in attempts.REFUSED:
                continue
            resolved = await provider_state.apply_created(
                session,
                tenant_id=tenant_id,
                payment_id=payment.id,
                outcome=outcome,
                subject=subject,
            )
            if resolved is None:
                # The recovery job resolved it meanwhile (a call slower than its bound).
                resolved = await self._payment(session, tenant_id=tenant_id, payment_id=payment.id)
            return await self._view(session, resolved)
        log.warning(
            "payments.all_providers_unavailable",
            payment_id=payment.id,
            providers=[a.provider for a in tried],
        )
        refused = {"attempts": [{"provider": a.provider, "outcome": a.outcome} for a in tried]}
        unsupported = bool(tried) and all(a.outcome == "unsupported" for a in tried)
        failure: type[AppError] = NoProviderSupports if unsupported else AllProvidersUnavailable
        await inflight.release(
            recorder,
            payment,
            tried,
            failure_code=failure.code,
            failure_message="every provider refused before accepting; nothing was charged",
        )
        if unsupported:
            raise NoProviderSupports(
                "no provider tried supports this currency, country or method; nothing was charged",
                extra=refused,
            )
        raise AllProvidersUnavailable(
            "every provider refused before accepting; nothing was charged — retry later",
            extra=refused,
        )

    async def get(self, session: AsyncSession, *, tenant_id: str, payment_id: str) -> PaymentView:
        """Raises: PaymentNotFound."""
        payment = await self._payment(session, tenant_id=tenant_id, payment_id=payment_id)
        return await self._view(session, payment)

    async def list(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        filters: PaymentFilters,
        params: PageParams,
    ) -> tuple[list[PaymentView], str | None]:
        rows, cursor = await repository.payments_page(
            session, tenant_id=tenant_id, filters=filters, params=params
        )
        by_payment = await repository.attempts(
            session, tenant_id=tenant_id, payment_ids=[row.id for row in rows]
        )
        return [PaymentView(row, by_payment.get(row.id, [])) for row in rows], cursor

    async def capture(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        runtime: ProviderRuntime,
        payment_id: str,
        body: CaptureIn,
        recorder: Recorder,
    ) -> PaymentView:
        """Capture an authorized payment, all of it or less, recorded before the provider
        call (`payments.intents.captures`).

        Raises:
            PaymentNotFound, PaymentNotCapturable, CaptureExceedsAuthorized, CurrencyMismatch,
            CaptureInFlight, ProviderDeclined (nothing captured; the key is free again),
            ProviderUnavailable, ProviderTimeout, ProviderError (the capture stays in flight:
            a retry with the same key answers 409 until the recovery job resolves it).
        """
        tenant_id = subject.tenant_id
        amount = body.amount.to_money() if body.amount is not None else None
        # Committed before the call: whatever happens next, the capture is on record.
        capture_id = await captures.record(
            recorder, tenant_id=tenant_id, payment_id=payment_id, amount=amount
        )
        payment = await self._payment(session, tenant_id=tenant_id, payment_id=payment_id)
        if capture_id is None:
            return await self._view(session, payment)
        assert payment.provider is not None and payment.provider_payment_id is not None
        try:
            async with open_connector(
                session,
                runtime=runtime,
                tenant_id=tenant_id,
                provider=payment.provider,
                environment=Environment(payment.environment),
            ) as connector:
                result = await call(
                    runtime,
                    connector.capture(
                        payment.provider_payment_id,
                        amount=amount,
                        idempotency_key=provider_key(
                            tenant_id, recorder.key, payment.provider, "capture"
                        ),
                    ),
                )
        except (ProviderDeclined, ProviderNotSupported, ProviderCredentialsRejected) as exc:
            # Refused: nothing was captured, so nothing to resolve and the key is free.
            await captures.release(
                recorder, tenant_id=tenant_id, capture_id=capture_id, error_code=exc.code
            )
            raise
        payment = await self._payment(
            session, tenant_id=tenant_id, payment_id=payment_id, lock=True
        )
        capture = await repository.capture(session, tenant_id=tenant_id, capture_id=capture_id)
        assert capture is not None
        await captures.apply(
            session,
            payment=payment,
            capture=capture,
            result=result,
            subject=subject,
            reason="captured on request",
        )
        return await self._view(session, payment)

    async def cancel(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        runtime: ProviderRuntime,
        payment_id: str,
        idempotency_key: str,
    ) -> PaymentView:
        """Cancel a payment before money moved.

        Raises:
            PaymentNotFound, PaymentNotCancellable, ProviderNotSupported, ProviderDeclined,
            ProviderUnavailable, ProviderTimeout.
        """
        payment = await self._payment(
            session, tenant_id=subject.tenant_id, payment_id=payment_id, lock=True
        )
        if payment.status == PaymentStatus.cancelled.value:
            return await self._view(session, payment)
        if PaymentStatus(payment.status) not in state.CANCELLABLE:
            raise PaymentNotCancellable(f"the payment is {payment.status}")
        if payment.provider is not None and payment.provider_payment_id is not None:
            async with open_connector(
                session,
                runtime=runtime,
                tenant_id=payment.tenant_id,
                provider=payment.provider,
                environment=Environment(payment.environment),
            ) as connector:
                result = await call(
                    runtime,
                    connector.cancel(
                        payment.provider_payment_id,
                        idempotency_key=provider_key(
                            payment.tenant_id, idempotency_key, payment.provider, "cancel"
                        ),
                    ),
                )
            await transitions.apply_provider_payment(
                session, payment, result, subject=subject, reason="cancelled on request"
            )
        if payment.status != PaymentStatus.cancelled.value:
            await transitions.move(
                session, payment, PaymentStatus.cancelled, subject=subject, reason="cancelled"
            )
        return await self._view(session, payment)

    async def locked(self, session: AsyncSession, *, tenant_id: str, payment_id: str) -> Payment:
        """The payment, its row locked until the transaction ends.

        Raises: PaymentNotFound.
        """
        return await self._payment(session, tenant_id=tenant_id, payment_id=payment_id, lock=True)

    async def find(
        self, session: AsyncSession, *, tenant_id: str, payment_id: str, lock: bool = False
    ) -> Payment | None:
        """The payment or None (locked when asked)."""
        return await repository.payment(
            session, tenant_id=tenant_id, payment_id=payment_id, lock=lock
        )

    async def by_provider_id(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        provider: str,
        provider_payment_id: str,
        lock: bool = False,
    ) -> Payment | None:
        """The payment a provider knows by its own id, or None."""
        return await repository.payment_by_provider_id(
            session,
            tenant_id=tenant_id,
            provider=provider,
            provider_payment_id=provider_payment_id,
            lock=lock,
        )

    async def add(self, session: AsyncSession, payment: Payment) -> None:
        """Insert a payment made elsewhere (a subscription renewal)."""
        await repository.add(session, payment)

    async def _payment(
        self, session: AsyncSession, *, tenant_id: str, payment_id: str, lock: bool = False
    ) -> Payment:
        payment = await repository.payment(
            session, tenant_id=tenant_id, payment_id=payment_id, lock=lock
        )
        if payment is None:
            raise PaymentNotFound(f"no payment {payment_id}")
        return payment

    async def _view(self, session: AsyncSession, payment: Payment) -> PaymentView:
        by_payment = await repository.attempts(
            session, tenant_id=payment.tenant_id, payment_ids=[payment.id]
        )
        return PaymentView(payment, by_payment.get(payment.id, []))


payment = PaymentService()
