"""Applying the state machine to rows: every status change is audited, emitted through the
outbox and, when money moved, posted to the ledger — all in the caller's transaction.

Callers hold the payment's row lock (`repository.payment(..., lock=True)`), so two
deliveries of news about one payment apply one after the other and converge.

Events are queued on the session and written to the outbox in one statement just before the
transaction commits (`core.db.on_before_commit`), like audit rows; code that commits its own
sessions runs `core.db.run_before_commit` first.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.service import audit
from moneyrail.auth.subject import AuthSubject
from moneyrail.connectors.base import PaymentStatus, ProviderPayment, RefundStatus
from moneyrail.core.db import on_before_commit
from moneyrail.core.errors import invariant
from moneyrail.core.money import Money
from moneyrail.core.outbox import emit_many
from moneyrail.payments import ledger_postings, state
from moneyrail.payments.models import Payment, Refund

log = structlog.get_logger(__name__)

_EVENTS_KEY = "moneyrail.payments.events"


def queue_event(session: AsyncSession, *, tenant_id: str, type: str, data: dict[str, Any]) -> None:
    """An outbox event, written with the others of this transaction right before it commits."""
    pending: dict[str, list[tuple[str, dict[str, Any]]]] = session.info.setdefault(_EVENTS_KEY, {})
    pending.setdefault(tenant_id, []).append((type, data))
    on_before_commit(session, _EVENTS_KEY, _write_events)


async def _write_events(session: AsyncSession) -> None:
    pending: dict[str, list[tuple[str, dict[str, Any]]]] = session.info.pop(_EVENTS_KEY, {})
    for tenant_id, events in pending.items():
        await emit_many(session, tenant_id=tenant_id, events=events)


def payment_summary(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "status": payment.status,
        "amount": {"amount": payment.amount, "currency": payment.currency},
        "captured_amount": payment.captured_amount,
        "refunded_amount": payment.refunded_amount,
        "provider": payment.provider,
        "provider_payment_id": payment.provider_payment_id,
        "environment": payment.environment,
    }


def refund_summary(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "payment_id": refund.payment_id,
        "status": refund.status,
        "amount": {"amount": refund.amount, "currency": refund.currency},
        "provider": refund.provider,
        "provider_refund_id": refund.provider_refund_id,
    }


async def record_created(
    session: AsyncSession, payment: Payment, *, subject: AuthSubject | None
) -> None:
    await audit.record(
        session,
        subject=subject,
        tenant_id=payment.tenant_id,
        action="payments.payment.created",
        target_type="payment",
        target_id=payment.id,
        after=payment_summary(payment),
    )
    queue_event(
        session,
        tenant_id=payment.tenant_id,
        type=state.event_type(PaymentStatus.created),
        data=payment_summary(payment),
    )


async def move(
    session: AsyncSession,
    payment: Payment,
    target: PaymentStatus,
    *,
    subject: AuthSubject | None,
    reason: str,
    previous: dict[str, Any] | None = None,
) -> bool:
    """Move `payment` to `target` when the state machine allows it; False when it stays.
    `previous` overrides fields of the audited "before" the caller already changed."""
    current = PaymentStatus(payment.status)
    if not state.can_transition(current, target):
        log.info(
            "payments.transition_ignored",
            payment_id=payment.id,
            current=current.value,
            reported=target.value,
            reason=reason,
        )
        return False
    before = {**payment_summary(payment), **(previous or {})}
    payment.status = target.value
    after = payment_summary(payment)
    await audit.record(
        session,
        subject=subject,
        tenant_id=payment.tenant_id,
        action=f"payments.payment.{target.value}",
        target_type="payment",
        target_id=payment.id,
        before=before,
        after={**after, "reason": reason},
    )
    queue_event(
        session,
        tenant_id=payment.tenant_id,
        type=state.event_type(target),
        data={**after, "previous_status": current.value},
    )
    log.info(
        "payments.transition",
        payment_id=payment.id,
        previous=current.value,
        status=target.value,
        provider=payment.provider,
        reason=reason,
    )
    return True


async def apply_provider_payment(
    session: AsyncSession,
    payment: Payment,
    result: ProviderPayment,
    *,
    subject: AuthSubject | None,
    reason: str,
) -> None:
    """Bring our payment up to what the provider reports (never backwards)."""
    if payment.provider_payment_id is None:
        payment.provider_payment_id = result.provider_payment_id
    if result.next_action_url:
        payment.next_action_url = result.next_action_url
    current = PaymentStatus(payment.status)
    target = state.next_status(current, result.status)
    if target is None:
        return
    previous = {"captured_amount": payment.captured_amount}
    if target is PaymentStatus.captured:
        captured = result.captured_amount or payment.amount
        invariant(0 < captured <= payment.amount, "captured amount outside the payment amount")
        invariant(result.amount.currency == payment.currency, "provider reported another currency")
        payment.captured_amount = captured
    elif target is PaymentStatus.failed and payment.failure_code is None:
        payment.failure_code = "provider_declined"
        payment.failure_message = _failure_message(result)
    # The row's new state is set before the ledger's statements flush it: one write.
    await move(session, payment, target, subject=subject, reason=reason, previous=previous)
    if target is PaymentStatus.captured:
        await _post_capture(session, payment, result)


async def _post_capture(session: AsyncSession, payment: Payment, result: ProviderPayment) -> None:
    captured = payment.captured_amount
    assert payment.provider is not None
    await ledger_postings.post_capture(
        session,
        tenant_id=payment.tenant_id,
        payment_id=payment.id,
        provider=payment.provider,
        amount=Money(captured, payment.currency),
        environment=payment.environment,
    )
    if result.fee:
        payment.fee_amount = result.fee
        await ledger_postings.post_fee(
            session,
            tenant_id=payment.tenant_id,
            payment_id=payment.id,
            provider=payment.provider,
            fee=Money(result.fee, payment.currency),
            environment=payment.environment,
        )


def _failure_message(result: ProviderPayment) -> str | None:
    error = result.raw.get("last_payment_error") if result.raw else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])[:500]
    return None


async def settle_refund(
    session: AsyncSession,
    refund: Refund,
    payment: Payment,
    status: RefundStatus,
    *,
    subject: AuthSubject | None,
    reason: str,
) -> bool:
    """Move a pending refund to `status`; on success post it and update the payment.

    The caller holds both row locks. False when the refund had already settled.
    """
    if refund.status != RefundStatus.pending.value or status is RefundStatus.pending:
        return False
    before = refund_summary(refund)
    refund.status = status.value
    if status is RefundStatus.succeeded:
        await ledger_postings.post_refund(
            session,
            tenant_id=refund.tenant_id,
            refund_id=refund.id,
            payment_id=payment.id,
            provider=refund.provider,
            amount=Money(refund.amount, refund.currency),
            environment=payment.environment,
        )
        payment.refunded_amount += refund.amount
        invariant(
            payment.refunded_amount <= payment.captured_amount, "refunds exceed the captured amount"
        )
    await audit.record(
        session,
        subject=subject,
        tenant_id=refund.tenant_id,
        action=f"payments.refund.{status.value}",
        target_type="refund",
        target_id=refund.id,
        before=before,
        after={**refund_summary(refund), "reason": reason},
    )
    queue_event(
        session,
        tenant_id=refund.tenant_id,
        type=f"refund.{status.value}",
        data=refund_summary(refund),
    )
    if status is RefundStatus.succeeded:
        target = state.status_after_refunds(payment.captured_amount, payment.refunded_amount)
        if target.value != payment.status:
            await move(session, payment, target, subject=subject, reason=f"refund {refund.id}")
    return True


async def record_refund_created(
    session: AsyncSession, refund: Refund, *, subject: AuthSubject | None
) -> None:
    await audit.record(
        session,
        subject=subject,
        tenant_id=refund.tenant_id,
        action="payments.refund.created",
        target_type="refund",
        target_id=refund.id,
        after=refund_summary(refund),
    )
    queue_event(
        session, tenant_id=refund.tenant_id, type="refund.created", data=refund_summary(refund)
    )
