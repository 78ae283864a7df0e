"""The canonical text's pieces that the database links under the chain head's lock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from moneyrail.audit import chain
from moneyrail.audit.chain import ChainFields

_ROWS: list[dict[str, Any]] = [
    {
        "tenant_id": "ten_1",
        "id": "aud_1",
        "created_at": datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=UTC),
        "actor_type": "api_key",
        "actor_id": "key_1",
        "action": "payments.payment.created",
        "target_type": "payment",
        "target_id": "pay_1",
        "ip": "127.0.0.1",
        "user_agent": "curl/8",
        "request_id": "req_1",
        "before": None,
        "after": {"amount": {"amount": 4999, "currency": "USD"}, "z": [1, "ü", None]},
    },
    {
        "tenant_id": "_platform",
        "id": "aud_2",
        "created_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "actor_type": None,
        "actor_id": None,
        "action": "x",
        "target_type": "t",
        "target_id": None,
        "ip": None,
        "user_agent": 'quote " and \\ and \u0000 and 中文 and "prev_hash":"',
        "request_id": None,
        "before": {"prev_hash": "ff", "seq": 3, "\u2028": "line"},
        "after": {},
    },
]


@pytest.mark.parametrize("row", _ROWS)
@pytest.mark.parametrize(("seq", "prev_hash"), [(1, chain.GENESIS_HASH), (1234567, "ab" * 32)])
def test_parts_around_head_values_give_the_canonical_text(
    row: dict[str, Any], seq: int, prev_hash: str
) -> None:
    head, mid, tail = chain.canonical_parts(**row)
    fields = ChainFields(seq=seq, prev_hash=prev_hash, **row)
    assert (head + prev_hash + mid + str(seq) + tail).encode() == chain.canonical(fields)
