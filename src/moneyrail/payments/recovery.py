"""Recovery of what a crash or a failure after the provider acted left in flight (design
rule 6): payment creates, captures, refunds and subscription changes, each resolved by
looking it up at its provider — never by sending the call again. See `payments.tasks` for
when it runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from moneyrail.core import limits
from moneyrail.core.db import bypass_tenant_scope, driver, run_before_commit, set_tenant
from moneyrail.core.errors import AppError
from moneyrail.payments.intents import captures, provider_state, views
from moneyrail.payments.intents.attempts import PaymentNeverMade
from moneyrail.payments.intents.inflight import FORGET_SQL, REPLACE_SQL
from moneyrail.payments.intents.repository import repository
from moneyrail.payments.intents.service import payment as payment_service
from moneyrail.payments.models import Subscription, SubscriptionChange
from moneyrail.payments.providers import ProviderRuntime
from moneyrail.payments.refunds import views as refund_views
from moneyrail.payments.refunds.repository import repository as refund_repository
from moneyrail.payments.refunds.service import refunds as refund_service
from moneyrail.payments.subscriptions import changes
from moneyrail.payments.subscriptions import views as subscription_views
from moneyrail.payments.subscriptions.service import subscriptions as subscription_service

log = structlog.get_logger(__name__)


@dataclass
class RecoveryResult:
    checked: int = 0
    resolved: list[str] = field(default_factory=list)
    # Payments whose capture in flight was resolved.
    captures_resolved: list[str] = field(default_factory=list)
    # Refunds in flight that were resolved.
    refunds_resolved: list[str] = field(default_factory=list)
    # Subscription changes (cancel, pause, resume) in flight that were resolved.
    subscription_changes_resolved: list[str] = field(default_factory=list)
    still_waiting: int = 0
    errors: int = 0


async def recover_in_flight(
    engine: AsyncEngine,
    *,
    runtime: ProviderRuntime,
    limit: int = limits.payment_poll_batch_size_max,
    min_age_seconds: float = limits.payment_in_flight_min_age_seconds,
    lookup_seconds: float = limits.payment_in_flight_lookup_seconds,
) -> RecoveryResult:
    """One pass over the oldest payment creates, then captures, left in flight: each looked
    up at its provider and resolved in its own transaction (payment row locked, SKIP
    LOCKED)."""
    factory = async_sessionmaker(engine, expire_on_commit=False)
    now = datetime.now(UTC)
    batch = min(limit, limits.payment_poll_batch_size_max)
    before = now - timedelta(seconds=min_age_seconds)
    async with factory() as session, session.begin():
        await bypass_tenant_scope(session)
        due = await repository.in_flight_due(session, before=before, limit=batch)
        captures_due = await repository.captures_in_flight_due(session, before=before, limit=batch)
        refunds_due = await refund_repository.in_flight_due(session, before=before, limit=batch)
        changes_due = await _subscription_changes_due(session, before=before, limit=batch)
    result = RecoveryResult()
    give_up_before = now - timedelta(seconds=lookup_seconds)
    work: list[tuple[RecoverOne, str, str]] = [
        *((_recover, t, p) for t, p in due),
        *((_recover_capture, t, p) for t, p in captures_due),
        *((_recover_refunds, t, p) for t, p in refunds_due),
        *((_recover_subscription_change, t, s) for t, s in changes_due),
    ]
    for recover, tenant_id, payment_id in work:
        try:
            async with factory() as session, session.begin():
                await set_tenant(session, tenant_id)
                if await recover(session, tenant_id, payment_id, runtime, give_up_before, result):
                    await run_before_commit(session)
        except AppError as exc:
            result.errors += 1
            log.warning("payments.in_flight_unresolved", payment_id=payment_id, error=exc.code)
    if result.checked or result.errors:
        log.info(
            "payments.in_flight_recovered",
            checked=result.checked,
            resolved=len(result.resolved),
            captures_resolved=len(result.captures_resolved),
            refunds_resolved=len(result.refunds_resolved),
            subscription_changes_resolved=len(result.subscription_changes_resolved),
            waiting=result.still_waiting,
            errors=result.errors,
        )
    return result


RecoverOne = Callable[
    [AsyncSession, str, str, ProviderRuntime, datetime, RecoveryResult], Awaitable[bool]
]


async def _recover_capture(
    session: AsyncSession,
    tenant_id: str,
    payment_id: str,
    runtime: ProviderRuntime,
    give_up_before: datetime,
    result: RecoveryResult,
) -> bool:
    """A capture in flight: the payment read at its provider (its captured amount) says
    whether the capture happened; it is applied once, never sent again."""
    payment = await repository.lock_for_polling(session, tenant_id=tenant_id, payment_id=payment_id)
    if payment is None:
        return False
    capture = await repository.capture_in_flight(
        session, tenant_id=tenant_id, payment_id=payment_id
    )
    if capture is None:
        return False
    result.checked += 1
    found = await captures.look_up(session, payment=payment, runtime=runtime)
    connection = await driver(session)
    if captures.is_captured(found):
        await captures.apply(
            session,
            payment=payment,
            capture=capture,
            result=found,
            subject=None,
            reason="capture recovered from the provider",
        )
        if capture.idempotency_key:
            view = await payment_service.get(session, tenant_id=tenant_id, payment_id=payment_id)
            body = views.payment_out(view).model_dump_json(by_alias=True)
            await connection.execute(REPLACE_SQL, tenant_id, capture.idempotency_key, 200, body)
    elif capture.created_at >= give_up_before:
        result.still_waiting += 1
        return False
    else:
        # The provider holds the payment uncaptured: the capture never happened. The client
        # may capture again with the same key.
        capture.status = captures.NOT_FOUND
        await session.flush()
        if capture.idempotency_key:
            await connection.execute(FORGET_SQL, tenant_id, capture.idempotency_key)
    result.captures_resolved.append(payment_id)
    log.info("payments.capture_resolved", payment_id=payment_id, status=capture.status)
    return True


async def _recover_refunds(
    session: AsyncSession,
    tenant_id: str,
    payment_id: str,
    runtime: ProviderRuntime,
    give_up_before: datetime,
    result: RecoveryResult,
) -> bool:
    """A payment's refunds in flight: resolved from the payment's refunded amount at its
    provider (`RefundService.recover_in_flight`); each client's stored 409 replaced by the
    refund, or removed when nothing was refunded."""
    payment = await repository.lock_for_polling(session, tenant_id=tenant_id, payment_id=payment_id)
    if payment is None:
        return False
    result.checked += 1
    resolved = await refund_service.recover_in_flight(
        session, runtime=runtime, payment=payment, give_up_before=give_up_before
    )
    if not resolved:
        result.still_waiting += 1
        return False
    connection = await driver(session)
    for refund in resolved:
        if refund.idempotency_key:
            if refund.status == "failed":
                await connection.execute(FORGET_SQL, tenant_id, refund.idempotency_key)
            else:
                body = refund_views.refund_out(refund).model_dump_json(by_alias=True)
                await connection.execute(REPLACE_SQL, tenant_id, refund.idempotency_key, 201, body)
        result.refunds_resolved.append(refund.id)
        log.info("payments.refund_resolved", refund_id=refund.id, status=refund.status)
    return True


async def _subscription_changes_due(
    session: AsyncSession, *, before: datetime, limit: int
) -> list[tuple[str, str]]:
    """(tenant, subscription) of subscription changes in flight since before `before`, oldest
    first (caller bypasses RLS)."""
    stmt = (
        select(SubscriptionChange.tenant_id, SubscriptionChange.subscription_id)
        .where(
            SubscriptionChange.status == changes.IN_FLIGHT, SubscriptionChange.created_at < before
        )
        .order_by(SubscriptionChange.created_at)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


async def _recover_subscription_change(
    session: AsyncSession,
    tenant_id: str,
    subscription_id: str,
    runtime: ProviderRuntime,
    give_up_before: datetime,
    result: RecoveryResult,
) -> bool:
    """A subscription's cancel, pause or resume in flight: the subscription read at its
    provider (`get_subscription`) says whether the change was made; it is applied once, never
    sent again. Not made after the lookup window: `not_found`, and the client's key is free."""
    sub = await session.scalar(
        select(Subscription)
        .where(Subscription.tenant_id == tenant_id, Subscription.id == subscription_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if sub is None:
        return False
    change = await changes.in_flight(session, tenant_id=tenant_id, subscription_id=subscription_id)
    if change is None:
        return False
    result.checked += 1
    if change.action == changes.CREATE:
        if not await _recover_subscription_create(session, sub, change, runtime, give_up_before):
            result.still_waiting += 1
            return False
        result.subscription_changes_resolved.append(change.id)
        log.info(
            "payments.subscription_create_resolved",
            subscription_id=subscription_id,
            change_id=change.id,
            status=change.status,
        )
        return True
    found = await changes.look_up(session, sub=sub, runtime=runtime)
    connection = await driver(session)
    if changes.made(change.action, found.status):
        await subscription_service.apply_change(session, sub, change.id, found, subject=None)
        if change.idempotency_key:
            body = subscription_views.subscription_out(sub).model_dump_json(by_alias=True)
            await connection.execute(REPLACE_SQL, tenant_id, change.idempotency_key, 200, body)
    elif change.created_at >= give_up_before:
        result.still_waiting += 1
        return False
    else:
        # The provider holds the subscription unchanged: the change never happened. The client
        # may send it again with the same key.
        await subscription_service.apply_change(session, sub, change.id, found, subject=None)
        if change.idempotency_key:
            await connection.execute(FORGET_SQL, tenant_id, change.idempotency_key)
    result.subscription_changes_resolved.append(change.id)
    log.info(
        "payments.subscription_change_resolved",
        subscription_id=subscription_id,
        change_id=change.id,
        status=change.status,
    )
    return True


async def _recover_subscription_create(
    session: AsyncSession,
    sub: Subscription,
    change: SubscriptionChange,
    runtime: ProviderRuntime,
    give_up_before: datetime,
) -> bool:
    """A subscription create in flight: looked up at its provider by our reference (the
    subscription id, `find_subscription`) and applied once — never created again. None there
    after the lookup window: it was never made; the subscription is removed and the client's
    key is free. False while waiting for that window."""
    tenant_id = sub.tenant_id
    found = await changes.find_created(session, sub=sub, runtime=runtime)
    connection = await driver(session)
    if found is not None:
        await subscription_service.apply_created(session, sub, change.id, found, subject=None)
        if change.idempotency_key:
            body = subscription_views.subscription_out(sub).model_dump_json(by_alias=True)
            await connection.execute(REPLACE_SQL, tenant_id, change.idempotency_key, 201, body)
        return True
    if change.created_at >= give_up_before:
        return False
    await changes.forget_create(
        session, sub=sub, change_id=change.id, status=changes.NOT_FOUND, error_code=None
    )
    if change.idempotency_key:
        await connection.execute(FORGET_SQL, tenant_id, change.idempotency_key)
    return True


async def _recover(
    session: AsyncSession,
    tenant_id: str,
    payment_id: str,
    runtime: ProviderRuntime,
    give_up_before: datetime,
    result: RecoveryResult,
) -> bool:
    payment = await repository.lock_for_polling(session, tenant_id=tenant_id, payment_id=payment_id)
    if payment is None:
        return False
    attempt = await repository.in_flight_attempt(
        session, tenant_id=tenant_id, payment_id=payment_id
    )
    if attempt is None:
        return False
    result.checked += 1
    found = await provider_state.look_up(session, payment=payment, runtime=runtime)
    if found is None and attempt.created_at >= give_up_before:
        result.still_waiting += 1
        return False
    outcome = found or PaymentNeverMade(
        f"{payment.provider} has no payment for {payment.id}; nothing was charged"
    )
    resolved = await provider_state.apply_created(
        session, tenant_id=tenant_id, payment_id=payment_id, outcome=outcome, subject=None
    )
    if resolved is None:
        return False
    if resolved.idempotency_key is not None:
        view = await payment_service.get(session, tenant_id=tenant_id, payment_id=payment_id)
        body = views.payment_out(view).model_dump_json(by_alias=True)
        await (await driver(session)).execute(
            REPLACE_SQL, tenant_id, resolved.idempotency_key, 201, body
        )
    result.resolved.append(payment_id)
    log.info("payments.in_flight_resolved", payment_id=payment_id, status=resolved.status)
    return True
