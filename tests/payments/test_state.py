from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from moneyrail.connectors.base import PaymentStatus as S
from moneyrail.payments import state

ALL = list(S)


def test_forward_path() -> None:
    path = [S.created, S.requires_action, S.processing, S.authorized, S.captured]
    for a, b in itertools.combinations(path, 2):
        assert state.can_transition(a, b)
        assert not state.can_transition(b, a)
    assert state.can_transition(S.captured, S.partially_refunded)
    assert state.can_transition(S.partially_refunded, S.refunded)
    assert not state.can_transition(S.refunded, S.partially_refunded)


def test_failure_and_cancel_only_before_money_moved() -> None:
    for s in (S.created, S.requires_action, S.processing, S.authorized):
        assert state.can_transition(s, S.failed)
    for s in (S.captured, S.partially_refunded, S.refunded, S.cancelled):
        assert not state.can_transition(s, S.failed)
        assert not state.can_transition(s, S.cancelled)
    assert not state.can_transition(S.cancelled, S.captured)


def test_provider_refunded_status_never_skips_refund_records() -> None:
    assert state.next_status(S.authorized, S.refunded) is S.captured
    assert state.next_status(S.captured, S.refunded) is None
    assert state.next_status(S.partially_refunded, S.captured) is None
    assert state.next_status(S.captured, S.processing) is None


def test_status_after_refunds() -> None:
    assert state.status_after_refunds(1000, 0) is S.captured
    assert state.status_after_refunds(1000, 400) is S.partially_refunded
    assert state.status_after_refunds(1000, 1000) is S.refunded


@given(st.lists(st.sampled_from(ALL), max_size=12))
def test_any_event_order_converges_and_never_goes_back(reports: list[S]) -> None:
    """Applying reports in any order only ever moves forward, and applying the same reports
    again (duplicates) changes nothing."""
    current = S.created
    for report in reports:
        target = state.next_status(current, report)
        if target is not None:
            assert state.can_transition(current, target)
            current = target
    settled = current
    for report in reports:
        target = state.next_status(settled, report)
        if target is not None:
            settled = target
    assert settled == current or state.can_transition(current, settled)
