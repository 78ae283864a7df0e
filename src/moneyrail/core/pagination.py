"""Cursor pagination: opaque cursors over a sortable unique key (ids sort by creation).

A cursor is the key and a MAC over it and the caller's tenant: a cursor that was altered,
made up, or minted for another tenant is refused with 400 `invalid_cursor` before it
reaches a query. The MAC key is derived from `SECRET_KEY` (`configure`), so every instance
behind a load balancer accepts the cursors of the others.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from contextvars import ContextVar
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


_MAC_BYTES = 16
_mac_key = hashlib.sha256(b"moneyrail cursor key: unconfigured").digest()
# The tenant a request acts for (bound by authentication); cursors are valid only for it.
_scope: ContextVar[str] = ContextVar("moneyrail_cursor_scope", default="")


def configure(secret_key: str) -> None:
    """Derive the cursors' MAC key from the application's secret (at startup)."""
    global _mac_key
    _mac_key = hmac.new(secret_key.encode(), b"moneyrail/cursor/v1", hashlib.sha256).digest()


def bind_scope(tenant_id: str) -> None:
    """Cursors minted and read from here on belong to `tenant_id` (this request's context)."""
    _scope.set(tenant_id)


def _mac(raw: bytes) -> bytes:
    message = _scope.get().encode() + b"\x00" + raw
    return hmac.new(_mac_key, message, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())


def encode_cursor(key: Any) -> str:
    raw = json.dumps(key, separators=(",", ":"), default=str).encode()
    return f"{_b64(raw)}.{_b64(_mac(raw))}"


def decode_cursor(cursor: str) -> Any:
    """The key inside a cursor this server minted for this tenant.

    Raises:
        InvalidCursor: malformed, altered, or minted for another tenant.
    """
    body, _, tag = cursor.partition(".")
    try:
        raw = _unb64(body)
        valid = hmac.compare_digest(_unb64(tag), _mac(raw))
        key = json.loads(raw) if valid else None
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor(
            "the cursor is malformed; use next_cursor from a previous page"
        ) from exc
    if not valid:
        raise InvalidCursor("the cursor was not issued for this list; use next_cursor as given")
    return key


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
