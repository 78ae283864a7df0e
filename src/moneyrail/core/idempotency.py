"""Exactly-once POSTs: `Idempotency-Key` + request hash + stored response, per tenant.

The record is written in the same transaction as the effect, so either both exist or
neither does. A transaction-scoped advisory lock on (tenant, key) turns a concurrent
duplicate into a 409 instead of a second effect.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core import limits
from moneyrail.core.errors import BadRequest, Conflict, Unprocessable
from moneyrail.core.models import IdempotencyRecord

REPLAYED_HEADER = "Idempotency-Replayed"


class IdempotencyKeyRequired(BadRequest):
    code = "idempotency_key_required"
    title = "Idempotency-Key header required"


class IdempotencyKeyInvalid(BadRequest):
    code = "idempotency_key_invalid"
    title = "Invalid Idempotency-Key"


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"
    title = "Idempotency-Key reused with a different request"


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    title = "A request with this Idempotency-Key is in progress"


Handler = Callable[[], Awaitable[Any]]


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 over method, path and the body; JSON bodies are canonicalised first."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), b"\n", path.encode(), b"\n", canonical):
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True)
class Idempotency:
    key: str | None
    request_hash: str
    method: str
    path: str
    required: bool

    async def run(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        handler: Handler,
        status_code: int = 200,
    ) -> JSONResponse:
        """Run `handler` once per key; replay its stored response for a repeated request."""
        if self.key is None:
            if self.required:
                raise IdempotencyKeyRequired(
                    "this endpoint moves money; send a unique Idempotency-Key header"
                )
            return JSONResponse(jsonable_encoder(await handler()), status_code=status_code)

        locked = await session.scalar(
            text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"),
            {"k": f"idem:{tenant_id}:{self.key}"},
        )
        if not locked:
            raise IdempotencyKeyInUse("retry after the first request with this key completes")
        existing = await session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.key == self.key
            )
        )
        now = datetime.now(UTC)
        if existing is not None and existing.expires_at > now:
            if existing.request_hash != self.request_hash:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was used for a different request; use a new key"
                )
            return JSONResponse(
                existing.response_body,
                status_code=existing.response_status,
                headers={REPLAYED_HEADER: "true"},
            )

        body = jsonable_encoder(await handler())
        values: dict[str, Any] = {
            "tenant_id": tenant_id,
            "key": self.key,
            "request_hash": self.request_hash,
            "method": self.method,
            "path": self.path,
            "response_status": status_code,
            "response_body": body,
            "created_at": now,
            "expires_at": now + timedelta(hours=limits.idempotency_ttl_hours),
        }
        stmt = insert(IdempotencyRecord).values(**values)
        # An expired record under the same key is replaced by the new request.
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[IdempotencyRecord.tenant_id, IdempotencyRecord.key],
                set_={k: stmt.excluded[k] for k in values if k not in ("tenant_id", "key")},
            )
        )
        return JSONResponse(body, status_code=status_code)


def _dependency(required: bool) -> Callable[..., Awaitable[Idempotency]]:
    async def dependency(
        request: Request,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                description="A unique key that makes this request exactly-once (24 h).",
                max_length=limits.idempotency_key_length_max,
            ),
        ] = None,
    ) -> Idempotency:
        if idempotency_key is not None and not idempotency_key.strip():
            raise IdempotencyKeyInvalid("Idempotency-Key must not be blank")
        body = await request.body()
        return Idempotency(
            key=idempotency_key,
            request_hash=request_fingerprint(request.method, request.url.path, body),
            method=request.method,
            path=request.url.path,
            required=required,
        )

    return dependency


IdempotencyRequired = Annotated[Idempotency, Depends(_dependency(required=True))]
IdempotencyOptional = Annotated[Idempotency, Depends(_dependency(required=False))]


def to_body(model: BaseModel | dict[str, Any]) -> Any:
    return jsonable_encoder(model)
