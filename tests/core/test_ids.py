from __future__ import annotations

import pytest

from moneyrail.core.ids import has_prefix, new_id, timestamp_ms


def test_ids_are_prefixed_and_sortable() -> None:
    first = new_id("acct", now_ms=1_000)
    second = new_id("acct", now_ms=2_000)
    assert first.startswith("acct_") and len(first) == len("acct_") + 26
    assert first < second
    assert timestamp_ms(second) == 2_000
    assert has_prefix(first, "acct") and not has_prefix(first, "txn")


def test_ids_are_unique() -> None:
    assert len({new_id("txn") for _ in range(10_000)}) == 10_000


def test_bad_prefix() -> None:
    with pytest.raises(ValueError, match="invalid id prefix"):
        new_id("Bad-Prefix")
