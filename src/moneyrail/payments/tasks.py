"""Resolving what waits on a provider: in-flight recovery and the status poller.

Recovery (design rule 6): a payment create, a capture and a refund are each recorded,
committed, before their provider call (`payments.intents.inflight`, `.captures`,
`payments.refunds.service`). A capture left in flight is resolved by reading the payment's
captured amount at its provider, a refund by reading its refunded amount — neither is ever
sent again. An attempt still `in_flight` after
`limits.payment_in_flight_min_age_seconds` lost its outcome (a crash, or a failure after
the provider acted); `recover_in_flight` looks the payment up at that provider by our
reference and the provider idempotency key (`find_payment`) — never by sending the create
again — and applies what it finds exactly as the request would have (`apply_created`: under
the payment's row lock, only while the attempt is in flight, so the ledger entry is written
once). When the provider has no trace of it after `limits.payment_in_flight_lookup_seconds`,
it never made it: the payment is `failed`. Either way the client's stored 409 is replaced
by the outcome, so a retry with the same key replays it. A subscription's cancel, pause or
resume left in flight (`payments.subscriptions.changes`) is resolved by reading the
subscription at its provider (`get_subscription`), never by sending the change again; a
subscription create left in flight (Stripe, Razorpay) by looking it up by our reference
(`find_subscription`), never by creating it again.

The poller: a payment is left `processing` when a provider took the create but did not
answer, or reports it still in flight; a refund is left `pending` until the provider
settles it. The poller asks the same provider again — by the provider's id, or by looking
the payment up by our reference — and applies the answer. It never tries another provider,
so a payment is charged at most once.

Each payment is handled in its own short transaction (its row locked with SKIP LOCKED, so
two workers never poll one payment at once). The worker runs `poll_payments` on its
schedule; `moneyrail payments poll` runs one pass by hand.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from moneyrail.connectors.base import PaymentStatus
from moneyrail.core import limits
from moneyrail.core.db import bypass_tenant_scope, run_before_commit, set_tenant
from moneyrail.core.errors import AppError
from moneyrail.core.jobs import schedule
from moneyrail.core.settings import get_settings
from moneyrail.payments.intents import provider_state
from moneyrail.payments.intents.repository import repository
from moneyrail.payments.models import Payment
from moneyrail.payments.providers import ProviderRuntime
from moneyrail.payments.recovery import RecoveryResult as RecoveryResult
from moneyrail.payments.recovery import recover_in_flight as recover_in_flight
from moneyrail.payments.refunds.service import refunds as refund_service

log = structlog.get_logger(__name__)

POLLED_STATUSES = (PaymentStatus.processing.value,)


@dataclass
class PollResult:
    checked: int = 0
    resolved: list[str] = field(default_factory=list)
    still_waiting: int = 0
    refunds_settled: int = 0
    errors: int = 0


async def poll_processing_payments(
    engine: AsyncEngine,
    *,
    runtime: ProviderRuntime,
    limit: int = limits.payment_poll_batch_size_max,
    min_age_seconds: float = limits.payment_poll_min_age_seconds,
) -> PollResult:
    """One pass over the oldest waiting payments and pending refunds."""
    factory = async_sessionmaker(engine, expire_on_commit=False)
    before = datetime.now(UTC) - timedelta(seconds=min_age_seconds)
    batch = min(limit, limits.payment_poll_batch_size_max)
    async with factory() as session, session.begin():
        await bypass_tenant_scope(session)
        due = await repository.due_for_polling(
            session, statuses=POLLED_STATUSES, before=before, limit=batch
        )
        refunds_due = await repository.payments_with_pending_refunds(
            session, before=before, limit=batch
        )
    result = PollResult()

    async def check_payment(session: AsyncSession, payment: Payment) -> None:
        result.checked += 1
        await provider_state.sync(
            session, payment=payment, subject=None, runtime=runtime, reason="polled"
        )
        if payment.status in POLLED_STATUSES:
            result.still_waiting += 1
        else:
            result.resolved.append(payment.id)

    async def check_refunds(session: AsyncSession, payment: Payment) -> None:
        result.refunds_settled += await refund_service.refresh_pending(
            session, runtime=runtime, payment=payment
        )

    for tenant_id, payment_id in due:
        await _one(factory, tenant_id, payment_id, POLLED_STATUSES, check_payment, result)
    for tenant_id, payment_id in refunds_due:
        await _one(factory, tenant_id, payment_id, None, check_refunds, result)
    if result.checked or result.refunds_settled or result.errors:
        log.info(
            "payments.polled",
            checked=result.checked,
            resolved=len(result.resolved),
            waiting=result.still_waiting,
            refunds_settled=result.refunds_settled,
            errors=result.errors,
        )
    return result


async def _one(
    factory: async_sessionmaker[AsyncSession],
    tenant_id: str,
    payment_id: str,
    statuses: tuple[str, ...] | None,
    work: Callable[[AsyncSession, Payment], Awaitable[None]],
    result: PollResult,
) -> None:
    try:
        async with factory() as session, session.begin():
            await set_tenant(session, tenant_id)
            payment = await repository.lock_for_polling(
                session, tenant_id=tenant_id, payment_id=payment_id, statuses=statuses
            )
            if payment is None:
                return
            await work(session, payment)
            await run_before_commit(session)
    except AppError as exc:
        result.errors += 1
        log.warning("payments.poll_failed", payment_id=payment_id, error=exc.code)


@schedule(every_seconds=limits.payment_in_flight_min_age_seconds, name="payments.recover")
async def recover_payments(session: AsyncSession) -> None:
    """The worker's job: one pass of in-flight recovery."""
    engine = session.bind
    assert isinstance(engine, AsyncEngine)
    await recover_in_flight(engine, runtime=ProviderRuntime.from_settings(get_settings()))


@schedule(every_seconds=limits.payment_poll_min_age_seconds * 6, name="payments.poll")
async def poll_payments(session: AsyncSession) -> None:
    """The worker's job: one pass of the poller."""
    engine = session.bind
    assert isinstance(engine, AsyncEngine)
    await poll_processing_payments(engine, runtime=ProviderRuntime.from_settings(get_settings()))
