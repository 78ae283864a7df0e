"""Payments: create with routing and fallback, read, list, capture, cancel, verify.

Provider calls and the request's transaction: the request owns one transaction, and a
provider call happens inside it. The payment row (status `created`, with the client's
idempotency key) and the provider's answer are written in that transaction; the row is
added once the provider answered, so a payment costs one insert instead of an insert and
updates — nobody can see the row before the commit anyway, and the idempotency key's lock,
taken first, already keeps a concurrent duplicate out. The commit then publishes the
payment, its ledger entry, audit rows and events together, or nothing. The price is a
transaction held open for the duration of the provider call, so that call is bounded
(`limits.payment_provider_call_deadline_seconds`, connector retries included) and nothing
is locked meanwhile but the idempotency key. The gain: no state exists that the client did
not get an answer for. A crash after the provider acted but before our commit leaves no
row, and the client's retry (same Idempotency-Key) sends the provider the same derived key,
so the provider returns the payment it already made instead of charging again.

Fallback: a provider that refuses before accepting (`ProviderUnavailable`: connection
refused, 429/5xx; or `ProviderNotSupported`) is recorded as an attempt and the next one in
the routing order is tried. A provider that took the request but did not answer
(`ProviderTimeout`) may have charged: the payment stays with it as `processing`, and
`verify` or the poller (`payments.tasks`) resolves it by asking that provider again with the
same key — never by trying another provider.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.subject import AuthSubject
from moneyrail.connectors.base import (
    Environment,
    PaymentStatus,
    ProviderUnavailable,
)
from moneyrail.core.errors import Conflict, NotFound, Unprocessable
from moneyrail.core.ids import new_id
from moneyrail.core.money import CurrencyMismatch, Money
from moneyrail.core.pagination import PageParams
from moneyrail.payments import state, transitions
from moneyrail.payments.intents import attempts
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


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    title = "Payment not found"


class NoProviderAvailable(Unprocessable):
    code = "no_provider_available"
    title = "No payment provider can take this payment"


class AllProvidersUnavailable(ProviderUnavailable):
    code = "all_providers_unavailable"
    title = "Every payment provider refused the payment"


class NoProviderSupports(Unprocessable):
    """Every provider tried refused the payment as something it does not do (a currency,
    country or method it does not support): retrying cannot help, so a 4xx."""

    code = "no_provider_supports_payment"
    title = "No payment provider supports this payment"


class PaymentNotCapturable(Conflict):
    code = "payment_not_capturable"
    title = "Only an authorized payment can be captured"


class PaymentNotCancellable(Conflict):
    code = "payment_not_cancellable"
    title = "The payment can no longer be cancelled"


class CaptureExceedsAuthorized(Unprocessable):
    code = "capture_exceeds_authorized"
    title = "Capture amount exceeds the authorized amount"


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
        subscription_id: str | None = None,
    ) -> PaymentView:
        """Create a payment at the first provider of the routing order that accepts it.

        Raises:
            NoProviderAvailable: routing leaves no usable provider.
            AllProvidersUnavailable: every provider refused before accepting (nothing made).
            ProviderError: a provider answered in a way that is neither (e.g. bad credentials).
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
            attempt, outcome = await attempts.offer(
                runtime=runtime,
                payment=payment,
                provider=provider,
                route=route,
                idempotency_key=idempotency_key,
                seq=len(tried) + 1,
            )
            tried.append(attempt)
            if attempt.outcome in ("unavailable", "unsupported"):
                continue
            # Written once the provider answered, in this same transaction (see above), in
            # the state the answer left it: one statement for the payment and its attempts.
            await transitions.record_created(session, payment, subject=subject)
            await attempts.settle(session, payment, outcome, subject=subject)
            await repository.insert_new_payment(session, payment, tried)
            return PaymentView(payment, tried)
        log.warning(
            "payments.all_providers_unavailable",
            payment_id=payment.id,
            providers=[a.provider for a in tried],
        )
        refused = {"attempts": [{"provider": a.provider, "outcome": a.outcome} for a in tried]}
        if tried and all(a.outcome == "unsupported" for a in tried):
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
        idempotency_key: str,
    ) -> PaymentView:
        """Capture an authorized payment, all of it or less.

        Raises:
            PaymentNotFound, PaymentNotCapturable, CaptureExceedsAuthorized, CurrencyMismatch,
            ProviderDeclined, ProviderUnavailable, ProviderTimeout (outcome unknown: retry
            with the same Idempotency-Key, or verify).
        """
        payment = await self._payment(
            session, tenant_id=subject.tenant_id, payment_id=payment_id, lock=True
        )
        if payment.status in (s.value for s in state.CAPTURED_STATES):
            return await self._view(session, payment)
        if payment.status != PaymentStatus.authorized.value or payment.provider_payment_id is None:
            raise PaymentNotCapturable(f"the payment is {payment.status}")
        amount = body.amount.to_money() if body.amount is not None else None
        if amount is not None:
            if amount.currency != payment.currency:
                raise CurrencyMismatch(f"the payment is in {payment.currency}")
            if amount.amount > payment.amount:
                raise CaptureExceedsAuthorized(
                    f"at most {Money(payment.amount, payment.currency).format()} can be captured"
                )
        assert payment.provider is not None
        async with open_connector(
            session,
            runtime=runtime,
            tenant_id=payment.tenant_id,
            provider=payment.provider,
            environment=Environment(payment.environment),
        ) as connector:
            result = await call(
                runtime,
                connector.capture(
                    payment.provider_payment_id,
                    amount=amount,
                    idempotency_key=provider_key(
                        payment.tenant_id, idempotency_key, payment.provider, "capture"
                    ),
                ),
            )
        await transitions.apply_provider_payment(
            session, payment, result, subject=subject, reason="captured on request"
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

    async def sync(
        self,
        session: AsyncSession,
        *,
        payment: Payment,
        subject: AuthSubject | None,
        runtime: ProviderRuntime,
        reason: str = "verified with the provider",
    ) -> None:
        """Fetch the provider's view of a locked payment and apply it.

        A payment whose create timed out has no provider id yet: the original request is
        sent again with the same idempotency key, which the provider answers with the
        payment it already made (or makes it now, once).
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
                result = await call(
                    runtime, connector.create_payment(attempts.create_request(payment))
                )
            else:
                result = await call(runtime, connector.get_payment(payment.provider_payment_id))
        await transitions.apply_provider_payment(
            session, payment, result, subject=subject, reason=reason
        )

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
