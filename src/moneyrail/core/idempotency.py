"""Exactly-once POSTs: `Idempotency-Key` + request hash + stored response, per tenant.

A route declares it once, on the endpoint, and the endpoint's body knows nothing of it:

    @router.post("/refunds", status_code=201, response_model=RefundOut)
    @idempotent(required=True)
    async def create_refund(body: RefundIn, subject: PaymentsWrite, session: SessionDep,
                            key: IdempotencyKey) -> RefundOut: ...

`key: IdempotencyKey` is optional: it hands the request's key to services that derive a
provider's idempotency key from it. The router's `route_class=IdempotentRoute` documents the
`Idempotency-Key` header in the OpenAPI document (required on `required=True` routes);
`idempotency_mode(route)` tells which routes are idempotent.

The record is written in the same transaction as the effect (the request's session), so
either both exist or neither does. A transaction-scoped advisory lock on (tenant, key)
turns a concurrent duplicate into a 409 instead of a second effect. The tenant is the
authenticated subject's (`request.state.subject`, set by the permissions kernel).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar, get_origin

from fastapi import Depends, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core import limits
from moneyrail.core.crypto import key_ring_from
from moneyrail.core.db import SessionDep, driver
from moneyrail.core.errors import BadRequest, Conflict, Unprocessable

REPLAYED_HEADER = "Idempotency-Replayed"
HEADER = "Idempotency-Key"
HEADER_DESCRIPTION = "A unique key that makes this request exactly-once (24 h)."
# Sealed responses carry a secret: never cached, on the first answer or a replay.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

Mode = Literal["required", "optional"]


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


@dataclass(frozen=True, slots=True)
class _KeyedRequest:
    """What the route dependency hands the wrapper: the key and the request's session."""

    key: str | None
    request: Request
    session: AsyncSession


async def _keyed_request(request: Request, session: SessionDep) -> _KeyedRequest:
    """The request's Idempotency-Key, read from the headers directly (the OpenAPI document
    declares the header through `IdempotentRoute`, required or not per route)."""
    key = request.headers.get(HEADER)
    if key is not None:
        if len(key) > limits.idempotency_key_length_max:
            raise RequestValidationError(
                [
                    {
                        "type": "string_too_long",
                        "loc": ("header", HEADER),
                        "msg": f"String should have at most "
                        f"{limits.idempotency_key_length_max} characters",
                        "input": key,
                        "ctx": {"max_length": limits.idempotency_key_length_max},
                    }
                ]
            )
        if not key.strip():
            raise IdempotencyKeyInvalid("Idempotency-Key must not be blank")
    return _KeyedRequest(key, request, session)


class _KeyParameter:
    """Marks an endpoint parameter that receives the request's Idempotency-Key."""


_KEY = _KeyParameter()
# The request's key, on a route whose key is required (never None there).
IdempotencyKey = Annotated[str, _KEY]
# The request's key, or None, on a route where it is optional.
OptionalIdempotencyKey = Annotated[str | None, _KEY]

_MODE_ATTRIBUTE = "__idempotency_mode__"
_PARAMETER = "idempotency_keyed_request_"
_REQUIRED_DETAIL = "this endpoint moves money; send a unique Idempotency-Key header"

Endpoint = TypeVar("Endpoint", bound=Callable[..., Awaitable[Any]])


def _is_key_parameter(annotation: Any) -> bool:
    return get_origin(annotation) is Annotated and any(
        meta is _KEY for meta in annotation.__metadata__
    )


def idempotent(
    *,
    required: bool = False,
    required_when: Callable[..., bool] | None = None,
    required_detail: str | None = None,
    sealed: bool = False,
) -> Callable[[Endpoint], Endpoint]:
    """Make an endpoint exactly-once per `Idempotency-Key` and tenant.

    `required=True`: a request without a key is refused (400 `idempotency_key_required`).
    `required_when`: a predicate over some of the endpoint's arguments, by name (e.g.
    `lambda body: body.id is None`); when it holds, a key is required although the route's
    mode is optional (with `required_detail` saying what else would do).
    `sealed=True`: the response carries a secret; it is stored encrypted and answered with
    `Cache-Control: no-store`.

    The endpoint's result (a model, plain data or a `Response`) is rendered once with the
    route's status code, stored with the key and request hash, and replayed with
    `Idempotency-Replayed: true` for the same key and body; a different body with the same
    key answers 422 `idempotency_key_reused`; a concurrent duplicate 409
    `idempotency_key_in_use`.
    """
    mode: Mode = "required" if required else "optional"
    detail = required_detail or _REQUIRED_DETAIL
    predicate_arguments = (
        tuple(inspect.signature(required_when).parameters) if required_when else ()
    )

    def decorate(endpoint: Endpoint) -> Endpoint:
        signature = inspect.signature(endpoint, eval_str=True)
        key_names = tuple(
            name
            for name, parameter in signature.parameters.items()
            if _is_key_parameter(parameter.annotation)
        )
        visible = [p for p in signature.parameters.values() if p.name not in key_names]
        visible.append(
            inspect.Parameter(
                _PARAMETER,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[_KeyedRequest, Depends(_keyed_request)],
            )
        )
        unknown = set(predicate_arguments) - {p.name for p in visible}
        if unknown:
            raise TypeError(f"required_when names no parameter of the endpoint: {unknown}")

        @functools.wraps(endpoint)
        async def wrapper(**kwargs: Any) -> Response:
            keyed: _KeyedRequest = kwargs.pop(_PARAMETER)
            key = keyed.key
            for name in key_names:
                kwargs[name] = key
            route = keyed.request.scope.get("route")
            status_code: int = getattr(route, "status_code", None) or 200
            if key is None:
                if required:
                    raise IdempotencyKeyRequired(detail)
                if required_when is not None and required_when(
                    *(kwargs[name] for name in predicate_arguments)
                ):
                    raise IdempotencyKeyRequired(detail)
                return _rendered(await endpoint(**kwargs), status_code, sealed=sealed)
            return await _once(keyed, key, status_code, sealed, endpoint, kwargs)

        wrapper.__signature__ = signature.replace(parameters=visible)  # type: ignore[attr-defined]
        setattr(wrapper, _MODE_ATTRIBUTE, mode)
        return wrapper  # type: ignore[return-value]

    return decorate


def idempotency_mode(route: APIRoute) -> Mode | None:
    """Whether a route is `@idempotent`, and whether it requires the key."""
    mode: Mode | None = getattr(route.endpoint, _MODE_ATTRIBUTE, None)
    return mode


def _rendered(result: Any, status_code: int, *, sealed: bool) -> Response:
    if isinstance(result, Response):
        return result
    response = json_response(result, status_code=status_code)
    if sealed:
        response.headers.update(NO_STORE)
    return response


def _tenant_of(request: Request) -> str:
    subject = getattr(request.state, "subject", None)
    tenant_id = getattr(subject, "tenant_id", None)
    if not isinstance(tenant_id, str):
        raise RuntimeError("an @idempotent route must authenticate its caller first")
    return tenant_id


async def _once(
    keyed: _KeyedRequest,
    key: str,
    status_code: int,
    sealed: bool,
    endpoint: Callable[..., Awaitable[Any]],
    kwargs: dict[str, Any],
) -> Response:
    """Run the endpoint once per key; replay its stored response for a repeated request."""
    request = keyed.request
    tenant_id = _tenant_of(request)
    path = request.url.path
    request_hash = request_fingerprint(request.method, path, await request.body())
    connection = await driver(keyed.session)
    existing = await connection.fetchrow(CLAIM_SQL, tenant_id, key)
    if not existing["locked"]:
        raise IdempotencyKeyInUse("retry after the first request with this key completes")
    now = datetime.now(UTC)
    if existing["request_hash"] is not None and existing["expires_at"] > now:
        if existing["request_hash"] != request_hash:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used for a different request; use a new key"
            )
        stored: str = existing["response_body"]
        headers = {REPLAYED_HEADER: "true"}
        if sealed:
            stored = _unseal(request, tenant_id, key, stored)
            headers.update(NO_STORE)
        return _StoredJSONResponse(
            stored.encode(), status_code=existing["response_status"], headers=headers
        )

    response = _rendered(await endpoint(**kwargs), status_code, sealed=sealed)
    # The stored body is the response's own bytes (rendered once). An expired record
    # under the same key is replaced by the new request.
    body = bytes(response.body).decode()
    if sealed:
        body = _seal(request, tenant_id, key, body)
    await connection.execute(
        RECORD_SQL,
        tenant_id,
        key,
        request_hash,
        request.method,
        path,
        response.status_code,
        body,
        now,
        now + timedelta(hours=limits.idempotency_ttl_hours),
    )
    return response


def _aad(tenant_id: str, key: str) -> str:
    return f"idempotency:{tenant_id}:{key}"


def _seal(request: Request, tenant_id: str, key: str, body: str) -> str:
    ring = key_ring_from(request.app.state.settings)
    return json.dumps({"sealed": ring.encrypt_text(body, aad=_aad(tenant_id, key))})


def _unseal(request: Request, tenant_id: str, key: str, stored: str) -> str:
    ring = key_ring_from(request.app.state.settings)
    return ring.decrypt_text(json.loads(stored)["sealed"], aad=_aad(tenant_id, key))


class IdempotentRoute(APIRoute):
    """An API route that documents the `Idempotency-Key` header of an `@idempotent`
    endpoint (required on routes that require it). Set as a router's `route_class`."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        openapi_extra: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        mode = getattr(endpoint, _MODE_ATTRIBUTE, None)
        if mode is not None:
            extra = dict(openapi_extra or {})
            extra["parameters"] = [*extra.get("parameters", []), header_parameter(mode)]
            openapi_extra = extra
        super().__init__(path, endpoint, openapi_extra=openapi_extra, **kwargs)


def header_parameter(mode: Mode) -> dict[str, Any]:
    """The OpenAPI parameter object of the `Idempotency-Key` header."""
    return {
        "name": HEADER,
        "in": "header",
        "required": mode == "required",
        "description": HEADER_DESCRIPTION,
        "schema": {"type": "string", "maxLength": limits.idempotency_key_length_max},
    }
