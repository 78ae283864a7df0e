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
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core import limits
from moneyrail.core.db import driver
from moneyrail.core.errors import BadRequest, Conflict, Unprocessable

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

# Run on the driver connection of the request's transaction (see `core.db.driver`).
# `idempotency_claim` takes the (tenant, key) advisory lock and only then reads the record,
# as two statements inside the function (migration core_idempotency_claim): under READ
# COMMITTED the read's snapshot includes a record committed by the previous holder.
CLAIM_SQL = (
    "SELECT locked, request_hash, response_status, response_body, expires_at"
    " FROM idempotency_claim($1, $2)"
)
RECORD_SQL = """
    INSERT INTO idempotency_keys (
        tenant_id, key, request_hash, method, path, response_status, response_body,
        created_at, expires_at
    ) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)
    ON CONFLICT (tenant_id, key) DO UPDATE SET
        request_hash = excluded.request_hash, method = excluded.method, path = excluded.path,
        response_status = excluded.response_status, response_body = excluded.response_body,
        created_at = excluded.created_at, expires_at = excluded.expires_at
"""


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


def json_response(content: Any, *, status_code: int) -> JSONResponse:
    """`JSONResponse(jsonable_encoder(content))` without walking content that is JSON already.

    A model is serialised by pydantic by alias (as `jsonable_encoder` dumps it); plain
    data is rendered directly, and only data the JSON encoder refuses (datetimes, Decimals,
    models inside, …) goes through `jsonable_encoder`.
    """
    if isinstance(content, BaseModel):
        return _StoredJSONResponse(content.model_dump_json(by_alias=True), status_code=status_code)
    try:
        return JSONResponse(content, status_code=status_code)
    except TypeError:
        return JSONResponse(jsonable_encoder(content), status_code=status_code)


class _StoredJSONResponse(JSONResponse):
    """A JSON body that is already serialised, sent as it is."""

    def render(self, content: Any) -> bytes:
        return content.encode() if isinstance(content, str) else bytes(content)


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
            return json_response(await handler(), status_code=status_code)

        connection = await driver(session)
        existing = await connection.fetchrow(CLAIM_SQL, tenant_id, self.key)
        if not existing["locked"]:
            raise IdempotencyKeyInUse("retry after the first request with this key completes")
        now = datetime.now(UTC)
        if existing["request_hash"] is not None and existing["expires_at"] > now:
            if existing["request_hash"] != self.request_hash:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was used for a different request; use a new key"
                )
            return _StoredJSONResponse(
                existing["response_body"].encode(),
                status_code=existing["response_status"],
                headers={REPLAYED_HEADER: "true"},
            )

        response = json_response(await handler(), status_code=status_code)
        # The stored body is the response's own bytes (rendered once). An expired record
        # under the same key is replaced by the new request.
        await connection.execute(
            RECORD_SQL,
            tenant_id,
            self.key,
            self.request_hash,
            self.method,
            self.path,
            status_code,
            bytes(response.body).decode(),
            now,
            now + timedelta(hours=limits.idempotency_ttl_hours),
        )
        return response


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
        # Only a keyed request is ever compared with a stored one; canonicalising a large
        # body costs about as much as validating it.
        request_hash = ""
        if idempotency_key is not None:
            request_hash = request_fingerprint(
                request.method, request.url.path, await request.body()
            )
        return Idempotency(
            key=idempotency_key,
            request_hash=request_hash,
            method=request.method,
            path=request.url.path,
            required=required,
        )

    return dependency


IdempotencyRequired = Annotated[Idempotency, Depends(_dependency(required=True))]
IdempotencyOptional = Annotated[Idempotency, Depends(_dependency(required=False))]


def to_body(model: BaseModel | dict[str, Any]) -> Any:
    return jsonable_encoder(model)
