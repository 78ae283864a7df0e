from __future__ import annotations

import pytest
from sqlalchemy import literal_column, select

from moneyrail.core.pagination import (
    InvalidCursor,
    PageParams,
    decode_cursor,
    encode_cursor,
    make_page,
    paginate_by_key,
)


def test_cursor_round_trip() -> None:
    assert decode_cursor(encode_cursor("acct_01")) == "acct_01"
    with pytest.raises(InvalidCursor):
        decode_cursor("%%%not-base64")


def test_make_page_detects_next() -> None:
    params = PageParams(limit=2)
    items, cursor = make_page(["a", "b", "c"], params, lambda x: x)
    assert items == ["a", "b"] and decode_cursor(cursor or "") == "b"
    items, cursor = make_page(["a"], params, lambda x: x)
    assert items == ["a"] and cursor is None


def test_paginate_rejects_non_scalar_cursor() -> None:
    key = literal_column("id")
    with pytest.raises(InvalidCursor):
        paginate_by_key(select(key), key, PageParams(cursor=encode_cursor({"a": 1})))
