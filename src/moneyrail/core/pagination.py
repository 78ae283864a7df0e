"""Cursor pagination: opaque cursors over a sortable unique key (ids sort by creation)."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select

from moneyrail.core import limits
from moneyrail.core.errors import BadRequest

T = TypeVar("T")


class InvalidCursor(BadRequest):
    code = "invalid_cursor"
    title = "Invalid cursor"


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    limit: int = limits.page_size_default
    cursor: str | None = None


def page_params(
    limit: Annotated[int, Query(ge=1, le=limits.page_size_max)] = limits.page_size_default,
    cursor: Annotated[str | None, Query(max_length=limits.cursor_length_max)] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


def encode_cursor(key: Any) -> str:
    raw = json.dumps(key, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, json.JSONDecodeError) as exc:
        raise InvalidCursor(
            "the cursor is malformed; use next_cursor from a previous page"
        ) from exc


def paginate_by_key(
    stmt: Select[Any], key: ColumnElement[Any], params: PageParams, *, descending: bool = True
) -> Select[Any]:
    """Order by a unique key and start after the cursor; fetches one extra row to see a next page."""
    if params.cursor is not None:
        after = decode_cursor(params.cursor)
        if not isinstance(after, str | int):
            raise InvalidCursor("the cursor is malformed; use next_cursor from a previous page")
        stmt = stmt.where(key < after if descending else key > after)
    order = key.desc() if descending else key.asc()
    return stmt.order_by(order).limit(params.limit + 1)


def make_page(rows: Sequence[T], params: PageParams, key_of: Any) -> tuple[list[T], str | None]:
    """Split the extra row off and build the next cursor from the last row's key."""
    items = list(rows[: params.limit])
    next_cursor = encode_cursor(key_of(items[-1])) if len(rows) > params.limit and items else None
    return items, next_cursor
