"""The one payment state machine: which status may follow which.

    created → requires_action → processing → authorized → captured
            → partially_refunded → refunded            (failed, cancelled: terminal)

Transitions only move forward. A provider event that arrives late or twice, or a status
fetched from a provider that is behind ours, never moves a payment back: `next_status`
answers None and the caller leaves the payment as it is. Refund states are reached only
through refunds recorded here (so the ledger always has a posting for them), never from
a provider's payment status alone.
"""

from __future__ import annotations

from moneyrail.connectors.base import PaymentStatus

# Position on the forward path; terminal failure states sit outside it.
_RANK: dict[PaymentStatus, int] = {
    PaymentStatus.created: 0,
    PaymentStatus.requires_action: 1,
    PaymentStatus.processing: 2,
    PaymentStatus.authorized: 3,
    PaymentStatus.captured: 4,
    PaymentStatus.partially_refunded: 5,
    PaymentStatus.refunded: 6,
}
TERMINAL: frozenset[PaymentStatus] = frozenset(
    {PaymentStatus.refunded, PaymentStatus.failed, PaymentStatus.cancelled}
)
# Money has moved at the provider once a payment reaches one of these.
CAPTURED_STATES: frozenset[PaymentStatus] = frozenset(
    {PaymentStatus.captured, PaymentStatus.partially_refunded, PaymentStatus.refunded}
)
_REFUND_STATES = frozenset({PaymentStatus.partially_refunded, PaymentStatus.refunded})
# A payment can fail or be cancelled only before money moved.
_BEFORE_CAPTURE = frozenset(
    {
        PaymentStatus.created,
        PaymentStatus.requires_action,
        PaymentStatus.processing,
        PaymentStatus.authorized,
    }
)
CANCELLABLE: frozenset[PaymentStatus] = frozenset(
    {PaymentStatus.created, PaymentStatus.requires_action, PaymentStatus.authorized}
)
PENDING_AT_PROVIDER: frozenset[PaymentStatus] = frozenset(
    {PaymentStatus.created, PaymentStatus.requires_action, PaymentStatus.processing}
)


def can_transition(current: PaymentStatus, target: PaymentStatus) -> bool:
    """True when `target` may follow `current` (never for the same status)."""
    if current == target or current in TERMINAL:
        # A payment that failed at the customer's first attempt can still succeed on a later
        # attempt at the same provider object (a retried card); money moved, so follow it.
        return current == PaymentStatus.failed and target in (
            PaymentStatus.authorized,
            PaymentStatus.captured,
        )
    if target in (PaymentStatus.failed, PaymentStatus.cancelled):
        return current in _BEFORE_CAPTURE
    return _RANK[target] > _RANK[current]


def next_status(current: PaymentStatus, reported: PaymentStatus) -> PaymentStatus | None:
    """The status to move to when a provider reports `reported`, or None to stay.

    A provider's "refunded" counts as captured here: refund states come from refund records.
    """
    if reported in _REFUND_STATES:
        reported = PaymentStatus.captured
    if current in CAPTURED_STATES and reported == PaymentStatus.captured:
        return None
    return reported if can_transition(current, reported) else None


def status_after_refunds(captured: int, refunded: int) -> PaymentStatus:
    """The status of a captured payment given the sum of its succeeded refunds."""
    if refunded <= 0:
        return PaymentStatus.captured
    return PaymentStatus.refunded if refunded >= captured else PaymentStatus.partially_refunded


def event_type(status: PaymentStatus) -> str:
    """The outbox event for entering `status`: `payment.captured`, `payment.failed`, …"""
    return f"payment.{status.value}"
